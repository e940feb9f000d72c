"""SQL for chat turns: run state, the worker's claim and heartbeat, usage, the message queue."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from devplane.db import models as m
from devplane.db.chat_rows import ChatQueuedMessageRow
from devplane.db.mcp_rows import ChatRow
from devplane.db.sql_mcp import _chat
from devplane.errors import NotFound


def _queued(o: m.ChatQueuedMessage, owner_id: uuid.UUID) -> ChatQueuedMessageRow:
    return ChatQueuedMessageRow(
        id=o.id, chat_id=o.chat_id, content=tuple(o.content), created_at=o.created_at, owner_id=owner_id
    )


class SqlChatTurnQueries:
    session: AsyncSession

    async def _chat_obj(self, chat_id: uuid.UUID) -> m.Chat:
        obj = await self.session.get(m.Chat, chat_id, with_for_update=True, populate_existing=True)
        if obj is None:
            raise NotFound("Chat not found.")
        return obj

    async def update_chat_run_state(
        self,
        chat_id: uuid.UUID,
        status: str,
        *,
        worker_id: str | None,
        heartbeat_at: dt.datetime | None,
        last_error: dict[str, Any] | None,
    ) -> ChatRow:
        obj = await self._chat_obj(chat_id)
        obj.status, obj.worker_id, obj.heartbeat_at, obj.last_error = status, worker_id, heartbeat_at, last_error
        await self.session.flush()
        return _chat(obj)

    async def claim_chat(self, worker_id: str, now: dt.datetime, stale_before: dt.datetime) -> ChatRow | None:
        # A pending chat, or a running one whose worker stopped heartbeating (died): take it over.
        claimable = or_(
            m.Chat.status == "pending",
            and_(m.Chat.status == "running", or_(m.Chat.heartbeat_at.is_(None), m.Chat.heartbeat_at < stale_before)),
        )
        pick = select(m.Chat.id).where(claimable).order_by(m.Chat.updated_at).limit(1)
        if self.session.get_bind().dialect.name == "postgresql":
            # Two replicas never pick the same row: the second skips the one the first has locked.
            pick = pick.with_for_update(skip_locked=True)
        chat_id = (await self.session.execute(pick)).scalar_one_or_none()
        if chat_id is None:
            return None
        # Conditional: on SQLite (no SKIP LOCKED) a concurrent claimer that won makes this a no-op.
        result = await self.session.execute(
            update(m.Chat)
            .where(m.Chat.id == chat_id, claimable)
            .values(status="running", worker_id=worker_id, heartbeat_at=now)
        )
        if not getattr(result, "rowcount", 0):
            return None
        obj = await self.session.get(m.Chat, chat_id, populate_existing=True)
        assert obj is not None
        return _chat(obj)

    async def heartbeat_chat(self, chat_id: uuid.UUID, worker_id: str, now: dt.datetime) -> bool:
        result = await self.session.execute(
            update(m.Chat)
            .where(m.Chat.id == chat_id, m.Chat.worker_id == worker_id, m.Chat.status == "running")
            .values(heartbeat_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def update_chat_usage(self, chat_id: uuid.UUID, usage: dict[str, Any] | None) -> None:
        obj = await self._chat_obj(chat_id)
        obj.usage = usage
        await self.session.flush()

    async def update_chat_title(self, chat_id: uuid.UUID, title: str) -> None:
        result = await self.session.execute(update(m.Chat).where(m.Chat.id == chat_id).values(title=title))
        if not getattr(result, "rowcount", 0):
            raise NotFound("Chat not found.")

    # --- queue --------------------------------------------------------------------------------
    async def insert_chat_queued_message(self, row: ChatQueuedMessageRow) -> ChatQueuedMessageRow:
        obj = m.ChatQueuedMessage(id=row.id, chat_id=row.chat_id, content=list(row.content), created_at=row.created_at)
        self.session.add(obj)
        await self.session.flush()
        return _queued(obj, row.owner_id)

    async def list_chat_queued_messages(self, chat_id: uuid.UUID) -> list[ChatQueuedMessageRow]:
        chat = await self.session.get(m.Chat, chat_id)
        if chat is None:
            raise NotFound("Chat not found.")
        stmt = (
            select(m.ChatQueuedMessage)
            .where(m.ChatQueuedMessage.chat_id == chat_id)
            .order_by(m.ChatQueuedMessage.created_at, m.ChatQueuedMessage.id)
        )
        return [_queued(o, chat.owner_id) for o in (await self.session.execute(stmt)).scalars()]

    async def count_chat_queued_messages(self, chat_id: uuid.UUID) -> int:
        stmt = select(func.count()).select_from(m.ChatQueuedMessage).where(m.ChatQueuedMessage.chat_id == chat_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def pop_chat_queued_message(self, chat_id: uuid.UUID) -> ChatQueuedMessageRow | None:
        queued = await self.list_chat_queued_messages(chat_id)
        if not queued:
            return None
        await self.session.execute(delete(m.ChatQueuedMessage).where(m.ChatQueuedMessage.id == queued[0].id))
        return queued[0]
