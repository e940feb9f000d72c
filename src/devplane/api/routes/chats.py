"""Chats: creation, listing, messages and MCP server selection (experiment `agents`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi import status as http

from devplane.api.deps import CurrentAuth, UserStore, require_experiment
from devplane.api.errors import ERROR_RESPONSES
from devplane.sdk.chats import Chat, ChatMessage, CreateChatMessageRequest, CreateChatRequest
from devplane.services import chats

router = APIRouter(
    prefix="/api/experimental/chats",
    tags=["Chats"],
    responses=ERROR_RESPONSES,
    dependencies=[require_experiment("agents")],
)


@router.post("", status_code=http.HTTP_201_CREATED, summary="Start a chat")
async def create_chat(body: CreateChatRequest, store: UserStore, current: CurrentAuth) -> Chat:
    return await chats.view(store, await chats.create(store, current.user.id, body))


@router.get("", summary="List your chats")
async def list_chats(store: UserStore, current: CurrentAuth) -> list[Chat]:
    return await chats.views(store, await store.list_chats_by_owner(current.user.id))


@router.get("/{chat_id}", summary="Get a chat")
async def get_chat(chat_id: uuid.UUID, store: UserStore) -> Chat:
    return await chats.view(store, await store.get_chat_by_id(chat_id))


@router.post("/{chat_id}/messages", status_code=http.HTTP_201_CREATED, summary="Post a message")
async def create_message(chat_id: uuid.UUID, body: CreateChatMessageRequest, store: UserStore) -> ChatMessage:
    _, message = await chats.post_message(store, chat_id, body)
    return chats.message_view(message)


@router.get("/{chat_id}/messages", summary="List a chat's messages")
async def list_messages(chat_id: uuid.UUID, store: UserStore) -> list[ChatMessage]:
    return [chats.message_view(m) for m in await store.list_chat_messages(chat_id)]
