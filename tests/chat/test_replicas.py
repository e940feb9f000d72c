"""Two workers (two replicas' worth) over one database never run the same chat (issue 10).

On PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`; on SQLite a conditional UPDATE. Both legs run.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

from devplane.api.state import AppState
from devplane.chat.loop import TurnRunner
from devplane.chat.worker import ChatWorker
from devplane.sdk.chats import CreateChatRequest
from devplane.sdk.client import Client


class Hold:
    """A runner that records which worker got which chat, and holds the turn open."""

    def __init__(self) -> None:
        self.runs: list[tuple[uuid.UUID, str]] = []

    async def run(self, chat_id: uuid.UUID, worker_id: str, _why: Any) -> None:
        self.runs.append((chat_id, worker_id))
        await asyncio.sleep(3600)


async def test_two_workers_never_claim_the_same_chat(owner: Client, state: AppState) -> None:
    await state.extras["chat_worker"].stop()  # only the two workers below claim
    ids = [(await owner.create_chat(CreateChatRequest(mcp_server_ids=[]))).id for _ in range(12)]
    async with state.db.transaction() as tx:
        store = tx.system("test: make chats pending")
        for chat_id in ids:
            await store.update_chat_run_state(chat_id, "pending", worker_id=None, heartbeat_at=None, last_error=None)
    hold = Hold()
    runner = cast(TurnRunner, hold)
    a, b = ChatWorker(state.db, runner, worker_id="replica-a"), ChatWorker(state.db, runner, worker_id="replica-b")
    try:
        claims = await asyncio.gather(*(w.claim_once() for _ in range(10) for w in (a, b)))
        assert sum(claims) == 12  # every chat once; the surplus attempts found nothing
        await asyncio.sleep(0)  # let the turn tasks start and record
        claimed = [chat_id for chat_id, _ in hold.runs]
        assert sorted(claimed) == sorted(ids)
        assert {w for _, w in hold.runs} <= {"replica-a", "replica-b"}
        for chat_id, worker in hold.runs:
            chat = await owner.chat(chat_id)
            assert chat.status == "running"
            async with state.db.read_session() as tx:
                row = await tx.system("test: read the claim").get_chat_by_id(chat_id)
            assert row.worker_id == worker
    finally:
        await a.kill()
        await b.kill()
