"""Authorization for chat turns. Run state, the queue and the title are writes on the chat (its
owner, or the worker acting as the system); the claim and heartbeat are the worker's alone."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from devplane.authz.policy import Action
from devplane.db.authz_base import SYSTEM, AuthzBase
from devplane.db.chat_rows import ChatQueuedMessageRow
from devplane.db.mcp_rows import ChatRow


class AuthzChatTurns(AuthzBase):
    async def update_chat_run_state(
        self,
        chat_id: uuid.UUID,
        status: str,
        *,
        worker_id: str | None,
        heartbeat_at: dt.datetime | None,
        last_error: dict[str, Any] | None,
    ) -> ChatRow:
        chat = await self._fetch(self.inner.get_chat_by_id, chat_id)
        return await self._write(
            Action.UPDATE,
            chat.authz_object(),
            self.inner.update_chat_run_state,
            chat_id,
            status,
            worker_id=worker_id,
            heartbeat_at=heartbeat_at,
            last_error=last_error,
        )

    async def claim_chat(self, worker_id: str, now: dt.datetime, stale_before: dt.datetime) -> ChatRow | None:
        return await self._site(Action.UPDATE, SYSTEM, self.inner.claim_chat, worker_id, now, stale_before)

    async def heartbeat_chat(self, chat_id: uuid.UUID, worker_id: str, now: dt.datetime) -> bool:
        return await self._site(Action.UPDATE, SYSTEM, self.inner.heartbeat_chat, chat_id, worker_id, now)

    async def update_chat_usage(self, chat_id: uuid.UUID, usage: dict[str, Any] | None) -> None:
        return await self._write_fetched(
            Action.UPDATE, self.inner.get_chat_by_id, chat_id, self.inner.update_chat_usage, usage
        )

    async def update_chat_title(self, chat_id: uuid.UUID, title: str) -> None:
        return await self._write_fetched(
            Action.UPDATE, self.inner.get_chat_by_id, chat_id, self.inner.update_chat_title, title
        )

    async def insert_chat_queued_message(self, row: ChatQueuedMessageRow) -> ChatQueuedMessageRow:
        chat = await self._fetch(self.inner.get_chat_by_id, row.chat_id)
        return await self._write(Action.UPDATE, chat.authz_object(), self.inner.insert_chat_queued_message, row)

    async def list_chat_queued_messages(self, chat_id: uuid.UUID) -> list[ChatQueuedMessageRow]:
        return await self._write_fetched(
            Action.READ, self.inner.get_chat_by_id, chat_id, self.inner.list_chat_queued_messages
        )

    async def count_chat_queued_messages(self, chat_id: uuid.UUID) -> int:
        return await self._write_fetched(
            Action.READ, self.inner.get_chat_by_id, chat_id, self.inner.count_chat_queued_messages
        )

    async def pop_chat_queued_message(self, chat_id: uuid.UUID) -> ChatQueuedMessageRow | None:
        return await self._write_fetched(
            Action.UPDATE, self.inner.get_chat_by_id, chat_id, self.inner.pop_chat_queued_message
        )
