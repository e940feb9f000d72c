"""Rows and seed data for the chat-loop authorization cases (tests/db/authz_chat_cases.py).

Kept apart from authz_support.py (which calls `seed_chat_admin`) so that file only grows by a line.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from devplane.db.chat_rows import ChatModelConfigRow, ChatProviderRow, ChatQueuedMessageRow
from devplane.db.sql_store import SqlStore

AT = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def provider_row(provider: str = "echo", *, api_key: str = "") -> ChatProviderRow:
    return ChatProviderRow(
        id=uuid.uuid4(),
        provider=provider,
        display_name=provider.title(),
        base_url="",
        enabled=True,
        created_by=None,
        created_at=AT,
        updated_at=AT,
        api_key=api_key,
    )


def model_row(provider_id: uuid.UUID, model: str = "m", *, is_default: bool = False) -> ChatModelConfigRow:
    return ChatModelConfigRow(
        id=uuid.uuid4(),
        provider_id=provider_id,
        model=model,
        display_name=model,
        enabled=True,
        is_default=is_default,
        context_limit=1000,
        options={},
        created_by=None,
        updated_by=None,
        created_at=AT,
        updated_at=AT,
    )


def queued_row(chat_id: uuid.UUID, owner_id: uuid.UUID) -> ChatQueuedMessageRow:
    return ChatQueuedMessageRow(
        id=uuid.uuid4(), chat_id=chat_id, content=({"type": "text", "text": "later"},), created_at=AT, owner_id=owner_id
    )


async def seed_chat_admin(sql: SqlStore, extra: dict[str, Any]) -> None:
    provider = await sql.insert_chat_provider(provider_row("echo"))
    extra["chat_provider"] = provider
    extra["chat_model"] = await sql.insert_chat_model_config(model_row(provider.id, "echo", is_default=True))
    for chat in ("my_chat", "other_chat"):  # one queued message each
        await sql.insert_chat_queued_message(queued_row(extra[chat].id, extra[chat].owner_id))
