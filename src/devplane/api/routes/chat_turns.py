"""Chat turns: interrupt a run (experiment `agents`). Turns themselves run in the chat worker."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from devplane.api.deps import UserStore, require_experiment
from devplane.api.errors import ERROR_RESPONSES
from devplane.sdk.chats import Chat
from devplane.services import chat_turns, chats

router = APIRouter(
    prefix="/api/experimental/chats",
    tags=["Chats"],
    responses=ERROR_RESPONSES,
    dependencies=[require_experiment("agents")],
)


@router.post("/{chat_id}/interrupt", summary="Stop the chat's running turn, keeping its partial answer")
async def interrupt(chat_id: uuid.UUID, store: UserStore) -> Chat:
    await store.get_chat_by_id(chat_id)  # 404 before the lock for someone else's chat
    return await chats.view(store, await chat_turns.request_interrupt(store, chat_id))
