"""Change events between replicas: a small pubsub, in-process on SQLite, LISTEN/NOTIFY on PostgreSQL.

Events are published inside the writer's transaction (`Store.publish_event`) so nobody sees one
before the change commits: PostgreSQL holds a NOTIFY until COMMIT and drops it on rollback; on
SQLite the payload waits in the session (`EventSession`) and goes to the `InProcessPubSub` after
commit. Each handler runs in its own task, started in publish order.

A listener that loses its connection misses events until it is back, so it calls the `on_reset`
handlers twice: when the connection is lost and once it is LISTENing again. Whoever caches must
then assume nothing and reload, and while `listening` is False trust a cache only briefly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

# asyncpg ships no type information; the listener uses a handful of its calls.
import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = structlog.get_logger(__name__)

CHANNEL = "devplane_events"
# Where a session finds the in-process pubsub, and the events waiting for its commit.
LOCAL_PUBSUB = "devplane_local_pubsub"
_PENDING = "devplane_pending_events"
MAX_PAYLOAD_BYTES = 7999  # PostgreSQL's NOTIFY limit (8000 bytes, terminator included)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
ResetHandler = Callable[[], Awaitable[None]]


class PubSub(Protocol):
    async def start(self) -> None:
        """Begin delivering (and, on PostgreSQL, listening). Subscribe before this."""
        ...

    async def close(self) -> None:
        """Stop listening and delivering; handlers still running are cancelled."""
        ...

    def subscribe(self, handler: Handler) -> None:
        """Call `handler(payload)` for every committed event, this process's own included."""
        ...

    def on_reset(self, handler: ResetHandler) -> None:
        """Call `handler()` when events may have been missed (the listener lost its connection)."""
        ...

    @property
    def listening(self) -> bool:
        """Every committed change reaches the subscribers now (False while the listener is down)."""
        ...


class _Dispatcher:
    """Handlers, and a task per (event, handler). Handlers start in publish order, right away: a
    slow one (closing upstream sessions) must not hold back the next invalidation, and caches
    are dropped by the synchronous start of a handler, before the writer's response goes out."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._reset_handlers: list[ResetHandler] = []
        self._running = False
        self._inflight: set[asyncio.Task[None]] = set()

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def on_reset(self, handler: ResetHandler) -> None:
        self._reset_handlers.append(handler)

    @property
    def listening(self) -> bool:
        return True  # in process: nothing can be missed

    async def start(self) -> None:
        self._running = True

    async def close(self) -> None:
        self._running = False
        tasks = list(self._inflight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until every handler started so far has finished (tests, orderly shutdown)."""
        while self._inflight:
            await asyncio.wait(list(self._inflight))

    def _dispatch(self, payload: dict[str, Any] | None) -> None:
        """Start the handlers for `payload`, or the reset handlers for None."""
        # Not started (a CLI command, a test without a server): nobody caches, nothing to tell.
        if not self._running:
            return
        if payload is None:
            calls = [reset() for reset in self._reset_handlers]
        else:
            calls = [handler(payload) for handler in self._handlers]
        loop = asyncio.get_running_loop()
        for call in calls:
            task = loop.create_task(self._safely(call), name="pubsub-handler")
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    @staticmethod
    async def _safely(call: Awaitable[None]) -> None:
        # One failing handler must not stop the others, nor the events after it.
        try:
            await call
        except Exception as exc:
            log.exception("pubsub.handler_failed", error=type(exc).__name__)


class InProcessPubSub(_Dispatcher):
    """One process (SQLite): committed sessions hand their events straight to the dispatcher."""

    def deliver(self, payload: dict[str, Any]) -> None:
        """Hand over a committed event. Synchronous: it is called from SQLAlchemy's after_commit
        (in the event loop's thread, inside the committing coroutine)."""
        self._dispatch(payload)


class PostgresPubSub(_Dispatcher):
    """LISTEN on a dedicated asyncpg connection (not the pool's: a pooled connection is reset and
    handed to others). Reconnects with exponential backoff; after a loss, resets its subscribers
    once it is listening again, since anything published in between was missed."""

    def __init__(
        self,
        dsn: str,
        *,
        channel: str = CHANNEL,
        min_backoff: float = 0.1,
        max_backoff: float = 5.0,
        keepalive: float = 10.0,
        connect_timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.dsn = dsn
        self.channel = channel
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self.listener_pid: int | None = None  # the listening backend, for pg_terminate_backend in tests
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._backoff = min_backoff
        self._was_listening = False

    async def start(self) -> None:
        await super().start()
        if self._task is not None:
            return
        self._ready = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._listen_forever(), name="pubsub-listen")
        try:
            # Wait for the first LISTEN so a change made right after startup is not missed; if the
            # database is slow to answer, start anyway: the loop resets the caches once connected.
            async with asyncio.timeout(self.connect_timeout):
                await self._ready.wait()
        except TimeoutError:
            log.warning("pubsub.listen_pending", channel=self.channel)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().close()

    @property
    def listening(self) -> bool:
        return self.listener_pid is not None

    async def _listen_forever(self) -> None:
        missed = False
        while True:
            self._was_listening = False
            try:
                await self._listen(reset_first=missed)
            except Exception as exc:
                log.warning(
                    "pubsub.listener_failed", channel=self.channel, error=type(exc).__name__, detail=str(exc)[:200]
                )
            self._ready.set()  # connected or tried once: start() need not wait for the retries
            if self._was_listening:
                # From now until LISTEN works again, changes from other replicas go unseen: caches
                # drop what they hold now, and trust what they load only briefly (`listening`).
                self._dispatch(None)
            missed = True
            log.warning("pubsub.listener_lost", channel=self.channel, retry_in=self._backoff)
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, self.max_backoff)

    async def _listen(self, *, reset_first: bool) -> None:
        """One listening connection, from connect until it is lost."""
        lost = asyncio.Event()
        conn = await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(self.channel, self._on_notify)
            self.listener_pid = conn.get_server_pid()
            self._was_listening = True
            if reset_first:
                # Listening again, so every change from here on arrives; whatever happened while
                # we were away did not, hence the reset (started after LISTEN, so nothing slips between).
                log.info("pubsub.listener_restored", channel=self.channel)
                self._dispatch(None)
            self._backoff = self.min_backoff
            self._ready.set()
            await self._watch(conn, lost)
        finally:
            self.listener_pid = None
            conn.terminate()

    async def _watch(self, conn: Any, lost: asyncio.Event) -> None:
        """Return when the connection is gone: closed by the server (termination listener) or,
        for a silent network loss, a keepalive query that does not answer."""
        while True:
            try:
                async with asyncio.timeout(self.keepalive):
                    await lost.wait()
                return
            except TimeoutError:
                pass
            async with asyncio.timeout(self.connect_timeout):
                await conn.fetchval("SELECT 1")

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.warning("pubsub.bad_payload", channel=self.channel, size=len(payload))
            return
        self._dispatch(data)


# --- transactional delivery on SQLite ---------------------------------------------------------


class EventSession(Session):
    """The sync session class behind Database's sessions: it delivers queued in-process events
    after the outermost commit and forgets them when the transaction ends any other way."""


def queue_after_commit(session: Session, payload: dict[str, Any]) -> None:
    """Hold `payload` until `session` commits. A session without an in-process pubsub (not made
    by a Database) has nobody to tell, so the event is dropped."""
    if isinstance(session.info.get(LOCAL_PUBSUB), InProcessPubSub):
        session.info.setdefault(_PENDING, []).append(payload)


@event.listens_for(EventSession, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the outer transaction may still roll back
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    pubsub = session.info.get(LOCAL_PUBSUB)
    if isinstance(pubsub, InProcessPubSub):
        for payload in pending:
            pubsub.deliver(payload)


@event.listens_for(EventSession, "after_transaction_end")
def _discard_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # Runs after after_commit; what is left here belongs to a rollback (or a close without commit).
    # A rolled-back SAVEPOINT keeps its events: they go out with the outer commit, one harmless
    # extra invalidation rather than a missed one.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
