"""Chats and their MCP server selection (the chat loop itself comes later)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from devplane.db.chat_rows import ChatQueuedMessageRow
from devplane.db.mcp_rows import ChatMessageRow, ChatRow, MCPServerConfigRow
from devplane.db.store import Store
from devplane.errors import BadRequest, FieldError
from devplane.sdk.chats import Chat, ChatMessage, CreateChatMessageRequest, CreateChatRequest
from devplane.services import chat_models, chat_turns


async def _enabled(store: Store) -> list[MCPServerConfigRow]:
    return await store.as_system(reason="resolve a chat's MCP servers").list_enabled_mcp_server_configs()


def _dedupe(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    return list(dict.fromkeys(ids))


async def _hold(store: Store, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The enabled configs among `ids`, kept from being deleted until this transaction ends.

    Without the lock, on PostgreSQL a config deleted while a chat was saving its selection could
    stay in that selection: the delete strips chats in its own transaction and cannot see an
    uncommitted one. With it, the delete waits for this transaction and then strips what it saved
    (or, if the delete went first, the config is absent here and refused). Callers take these
    config locks before the chat's own row lock: the order a config delete takes them in.
    """
    system = store.as_system(reason="hold the MCP server configs a chat selects")
    return {c.id for c in await system.list_mcp_server_configs_by_ids(ids, for_key_share=True) if c.enabled}


async def validate_selection(store: Store, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Duplicates removed; every id must be an enabled config (members can only see those).
    The configs are held until the transaction ends (see `_hold`)."""
    ids = _dedupe(ids)
    enabled = await _hold(store, ids)
    bad = [i for i in ids if i not in enabled]
    if bad:
        raise BadRequest(
            "Unknown or disabled MCP server ids.",
            validations=[FieldError("mcp_server_ids", f"not an enabled MCP server: {', '.join(map(str, bad))}")],
        )
    return ids


def effective_ids(
    selection: tuple[uuid.UUID, ...] | list[uuid.UUID], enabled: list[MCPServerConfigRow]
) -> list[uuid.UUID]:
    """(selection + enabled force_on) intersected with enabled, selection order first."""
    enabled_ids = {c.id for c in enabled}
    forced = [c.id for c in enabled if c.availability == "force_on"]
    return [i for i in _dedupe([*selection, *forced]) if i in enabled_ids]


async def view(store: Store, chat: ChatRow, enabled: list[MCPServerConfigRow] | None = None) -> Chat:
    enabled = enabled if enabled is not None else await _enabled(store)
    return Chat(
        id=chat.id,
        owner_id=chat.owner_id,
        title=chat.title,
        mcp_server_ids=list(chat.mcp_server_ids),
        effective_mcp_server_ids=effective_ids(chat.mcp_server_ids, enabled),
        created_at=chat.created_at,
        updated_at=chat.updated_at,
        model_config_id=chat.model_config_id,
        status=chat.status,
        last_error=chat.last_error,
        usage=chat.usage,
    )


async def views(store: Store, chats: list[ChatRow]) -> list[Chat]:
    enabled = await _enabled(store)
    return [await view(store, c, enabled) for c in chats]


async def create(store: Store, owner_id: uuid.UUID, req: CreateChatRequest) -> ChatRow:
    if req.mcp_server_ids is None:
        defaults = [c.id for c in await _enabled(store) if c.availability == "default_on"]
        held = await _hold(store, defaults)  # one deleted since the listing is left out
        selection = [i for i in defaults if i in held]
    else:
        selection = await validate_selection(store, req.mcp_server_ids)
    if req.model_config_id is not None:
        model_id: uuid.UUID | None = (await chat_models.usable_model(store, req.model_config_id)).id
    else:
        model_id = await chat_models.default_model_id(store)
    now = dt.datetime.now(dt.UTC)
    return await store.insert_chat(
        ChatRow(
            id=uuid.uuid4(),
            owner_id=owner_id,
            title=req.title,
            mcp_server_ids=tuple(selection),
            created_at=now,
            updated_at=now,
            model_config_id=model_id,
        )
    )


async def post_message(
    store: Store, chat_id: uuid.UUID, req: CreateChatMessageRequest
) -> tuple[ChatRow, ChatMessageRow | ChatQueuedMessageRow]:
    chat = await store.get_chat_by_id(chat_id)  # not found (or not yours) before a bad selection
    selection = None if req.mcp_server_ids is None else await validate_selection(store, req.mcp_server_ids)
    if req.model_config_id is not None:  # nil means no change, like mcp_server_ids
        await chat_models.usable_model(store, req.model_config_id)
    # The row lock serializes concurrent messages on one chat (coder: GetChatByIDForUpdate). Taken
    # after the selection's config locks, in the order a config delete takes them: no deadlock.
    chat = await store.get_chat_by_id(chat.id, for_update=True)
    if selection is not None:
        chat = await store.update_chat_mcp_server_ids(chat.id, selection)
    if req.model_config_id is not None and req.model_config_id != chat.model_config_id:
        await store.update_chat_model_config_id(chat.id, req.model_config_id)
        chat = dataclasses.replace(chat, model_config_id=req.model_config_id)
    # A turn starts only when some model can answer; without one the message is just stored.
    answerable = chat.model_config_id is not None or await chat_models.default_model_id(store) is not None
    message = await chat_turns.send(store, chat, chat_turns.user_content(req.content), start_turn=answerable)
    return chat, message


def message_view(row: ChatMessageRow | ChatQueuedMessageRow) -> ChatMessage:
    if isinstance(row, ChatQueuedMessageRow):
        return ChatMessage(
            id=row.id,
            chat_id=row.chat_id,
            role="user",
            content=list(row.content),
            created_at=row.created_at,
            queued=True,
        )
    return ChatMessage(
        id=row.id,
        chat_id=row.chat_id,
        role=row.role,
        content=list(row.content),
        created_at=row.created_at,
        seq=row.seq,
        usage=row.usage,
        model_config_id=row.model_config_id,
    )
