"""The chat worker: one per replica, started in the app lifespan. It claims pending chats (and
running ones whose worker stopped heartbeating), runs their turns, heartbeats while they run, and
cancels a run when its chat is interrupted (from any replica, via the pubsub).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from devplane.chat.loop import TurnRunner
from devplane.db.database import Database
from devplane.services import chat_turns

log = structlog.get_logger(__name__)

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _Run:
    task: asyncio.Task[None]
    stop: str | None = None  # interrupt | shutdown | lost
    heartbeat: asyncio.Task[None] | None = field(default=None)


class ChatWorker:
    def __init__(
        self,
        db: Database,
        runner: TurnRunner,
        *,
        lease_seconds: float = 300.0,
        poll_seconds: float = 1.0,
        concurrency: int = 8,
        clock: Clock = utcnow,
        worker_id: str | None = None,
    ) -> None:
        self.db = db
        self.runner = runner
        self.lease = lease_seconds
        self.poll = poll_seconds
        self.concurrency = concurrency
        self.clock = clock
        self.id = worker_id or f"w-{secrets.token_hex(6)}"
        self.runs: dict[uuid.UUID, _Run] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def heartbeat_seconds(self) -> float:
        return max(min(self.lease / 10, 30.0), 0.05)

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self.db.pubsub.subscribe(self.on_event)
        self._task = asyncio.create_task(self._claim_forever(), name=f"chat-worker-{self.id}")

    async def stop(self) -> None:
        """Shutdown: stop claiming; hand every running chat back (pending) for another worker."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._cancel_all("shutdown")

    async def kill(self) -> None:
        """Tests: die like a crashed process (no state written); the lease lets another worker take over."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._cancel_all("lost")

    async def _cancel_all(self, why: str) -> None:
        runs = list(self.runs.values())
        for run in runs:
            run.stop = why
            run.task.cancel()
        for run in runs:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await run.task

    # --- events --------------------------------------------------------------------------------
    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == chat_turns.CHAT_PENDING:
            self._wake.set()
        elif kind == chat_turns.CHAT_INTERRUPT:
            with contextlib.suppress(KeyError, ValueError, TypeError):
                self.interrupt(uuid.UUID(event["chat_id"]))

    def interrupt(self, chat_id: uuid.UUID) -> bool:
        run = self.runs.get(chat_id)
        if run is None:
            return False
        run.stop = "interrupt"
        run.task.cancel()
        return True

    # --- claiming ------------------------------------------------------------------------------
    async def _claim_forever(self) -> None:
        while True:
            try:
                while len(self.runs) < self.concurrency and await self.claim_once():
                    pass
            except Exception:  # the database may be briefly away; try again on the next tick
                log.exception("chat.worker_claim_failed", worker=self.id)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll)

    async def claim_once(self) -> bool:
        now = self.clock()
        async with self.db.transaction() as tx:
            chat = await tx.system("claim a pending chat").claim_chat(
                self.id, now, now - dt.timedelta(seconds=self.lease)
            )
        if chat is None:
            return False
        log.info("chat.claimed", chat_id=str(chat.id), worker=self.id)
        self._start(chat.id)
        return True

    def _start(self, chat_id: uuid.UUID) -> None:
        holder: dict[str, _Run] = {}

        def why() -> str | None:
            return holder["run"].stop

        task = asyncio.create_task(self.runner.run(chat_id, self.id, why), name=f"chat-turn-{chat_id}")
        run = _Run(task=task)
        holder["run"] = run
        run.heartbeat = asyncio.create_task(self._heartbeat(chat_id, run))
        self.runs[chat_id] = run

        def done(_: asyncio.Task[None]) -> None:
            if self.runs.get(chat_id) is run:
                del self.runs[chat_id]
            if run.heartbeat is not None:
                run.heartbeat.cancel()
            self._wake.set()  # a slot is free, and the chat may be pending again (queued message)

        task.add_done_callback(done)

    async def _heartbeat(self, chat_id: uuid.UUID, run: _Run) -> None:
        while not run.task.done():
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                async with self.db.transaction() as tx:
                    ours = await tx.system("renew a chat's lease").heartbeat_chat(chat_id, self.id, self.clock())
            except Exception:
                log.exception("chat.heartbeat_failed", chat_id=str(chat_id))
                continue
            if not ours and not run.task.done():
                log.warning("chat.lease_lost", chat_id=str(chat_id), worker=self.id)
                run.stop = "lost"
                run.task.cancel()
                return
