"""Change events (db/pubsub.py): seen only after the writing transaction commits, never after a
rollback; on PostgreSQL a killed listener reconnects, resets its subscribers and resumes.

The in-process tests use their own SQLite database, so they run on both CI legs; the PostgreSQL
ones use DEVPLANE_TEST_PG_URL (require_pg). No tables are needed: publishing touches none.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from devplane.api.state import AppState
from devplane.authz.authorizer import ANONYMOUS, Subject
from devplane.config import to_asyncpg_url
from devplane.crypto.keyring import Keyring
from devplane.db.database import Database
from devplane.db.pubsub import InProcessPubSub, PostgresPubSub
from devplane.errors import Forbidden
from devplane.sdk.client import Client
from devplane.sdk.mcp import CreateMCPServerConfigRequest, UpdateMCPServerConfigRequest
from devplane.services import events
from tests.conftest import require_pg

MEMBER = Subject(user_id=uuid.UUID(int=7), roles=())


class Inbox:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.resets = 0

    async def handle(self, payload: dict[str, Any]) -> None:
        self.events.append(payload)

    async def reset(self) -> None:
        self.resets += 1

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def publish(db: Database, kind: str) -> None:
    async with db.transaction() as tx:
        await tx.store(MEMBER).publish_event({"type": kind})


async def _started(db: Database, inbox: Inbox) -> AsyncIterator[Database]:
    db.pubsub.subscribe(inbox.handle)
    db.pubsub.on_reset(inbox.reset)
    await db.pubsub.start()
    try:
        yield db
    finally:
        await db.pubsub.close()
        await db.dispose()


async def publish_then_fail(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.store(MEMBER).publish_event({"type": "raised"})
        raise RuntimeError("boom")


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def sqlite_db(tmp_path: Path, inbox: Inbox) -> AsyncIterator[Database]:
    async for db in _started(Database(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}", Keyring(())), inbox):
        yield db


@pytest.fixture
async def pg_db(inbox: Inbox) -> AsyncIterator[Database]:
    url = to_asyncpg_url(require_pg())
    db = Database(url, Keyring(()))
    assert isinstance(db.pubsub, PostgresPubSub)
    db.pubsub.min_backoff = 0.05  # the kill test waits for a reconnect
    async for started in _started(db, inbox):
        yield started


# --- in process (SQLite) -------------------------------------------------------------------


async def test_in_process_delivers_after_commit_only(sqlite_db: Database, inbox: Inbox) -> None:
    pubsub = sqlite_db.pubsub
    assert isinstance(pubsub, InProcessPubSub)
    async with sqlite_db.session() as tx:
        await tx.store(MEMBER).publish_event({"type": "a", "n": 1})
        await pubsub.drain()
        await asyncio.sleep(0.01)
        assert inbox.events == [], "delivered before the commit"
        await tx.commit()
    await pubsub.drain()
    assert inbox.events == [{"type": "a", "n": 1}]


async def test_in_process_drops_rolled_back_events(sqlite_db: Database, inbox: Inbox) -> None:
    pubsub = sqlite_db.pubsub
    assert isinstance(pubsub, InProcessPubSub)
    async with sqlite_db.session() as tx:
        await tx.store(MEMBER).publish_event({"type": "rolled_back"})
        await tx.rollback()
        # The same session, next transaction: only its own event goes out.
        await tx.store(MEMBER).publish_event({"type": "committed"})
        await tx.commit()
    with pytest.raises(RuntimeError, match="boom"):
        await publish_then_fail(sqlite_db)
    async with sqlite_db.session() as tx:
        await tx.store(MEMBER).publish_event({"type": "closed_without_commit"})
    await publish(sqlite_db, "last")
    await pubsub.drain()
    assert inbox.types() == ["committed", "last"]


async def test_a_failing_handler_does_not_stop_the_others(sqlite_db: Database, inbox: Inbox) -> None:
    async def broken(_payload: dict[str, Any]) -> None:
        raise ValueError("handler bug")

    seen: list[str] = []

    async def after(payload: dict[str, Any]) -> None:
        seen.append(payload["type"])

    sqlite_db.pubsub.subscribe(broken)
    sqlite_db.pubsub.subscribe(after)
    await publish(sqlite_db, "one")
    await publish(sqlite_db, "two")
    await eventually(lambda: seen == ["one", "two"])
    assert inbox.types() == ["one", "two"]


async def test_anonymous_callers_cannot_publish(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as tx:
        with pytest.raises(Forbidden):
            await tx.store(ANONYMOUS).publish_event({"type": "x"})


# --- services to the runtime, through the server's own pubsub (either database) --------------


async def test_config_changes_reach_this_replicas_runtime(state: AppState, owner: Client) -> None:
    runtime = state.extras["mcp"]
    changed: list[uuid.UUID] = []

    async def spy(config_id: uuid.UUID) -> None:
        changed.append(config_id)

    runtime.config_changed = spy
    body = {
        "display_name": "Demo",
        "slug": "demo",
        "transport": "streamable_http",
        "url": "http://127.0.0.1:9/mcp",
        "auth_type": "none",
        "availability": "default_off",
        "enabled": True,
    }
    config = await owner.create_mcp_server(CreateMCPServerConfigRequest.model_validate(body))
    await eventually(lambda: changed == [config.id])
    await owner.update_mcp_server(config.id, UpdateMCPServerConfigRequest(enabled=False))
    await eventually(lambda: changed == [config.id] * 2)
    await owner.delete_mcp_server(config.id)
    await eventually(lambda: changed == [config.id] * 3)


async def test_events_handler_dispatches_by_type() -> None:
    calls: list[tuple[str, uuid.UUID, uuid.UUID | None]] = []

    class Listener:
        async def config_changed(self, config_id: uuid.UUID) -> None:
            calls.append(("config", config_id, None))

        async def user_token_changed(self, config_id: uuid.UUID, user_id: uuid.UUID) -> None:
            calls.append(("token", config_id, user_id))

    handle = events.handler_for(Listener())
    cid, uid = uuid.uuid4(), uuid.uuid4()
    await handle({"type": events.CONFIG_CHANGED, "config_id": str(cid)})
    await handle({"type": events.TOKEN_CHANGED, "config_id": str(cid), "user_id": str(uid)})
    await handle({"type": events.TOKEN_CHANGED, "config_id": "not-a-uuid"})  # logged, not raised
    await handle({"type": "someone_elses"})
    assert calls == [("config", cid, None), ("token", cid, uid)]


# --- PostgreSQL LISTEN/NOTIFY ------------------------------------------------------------------


async def test_postgres_delivers_after_commit_only(pg_db: Database, inbox: Inbox) -> None:
    async with pg_db.session() as tx:
        await tx.store(MEMBER).publish_event({"type": "pending"})
        # A marker committed meanwhile arrives; the open transaction's event must not.
        await publish(pg_db, "marker")
        await eventually(lambda: "marker" in inbox.types())
        assert "pending" not in inbox.types()
        await tx.commit()
    await eventually(lambda: inbox.types() == ["marker", "pending"])

    async with pg_db.session() as tx:
        await tx.store(MEMBER).publish_event({"type": "rolled_back"})
        await tx.rollback()
    await publish(pg_db, "after")
    await eventually(lambda: inbox.types()[-1] == "after")
    assert "rolled_back" not in inbox.types()


async def test_postgres_killed_listener_resets_and_resumes(pg_db: Database, inbox: Inbox) -> None:
    pubsub = pg_db.pubsub
    assert isinstance(pubsub, PostgresPubSub)
    await publish(pg_db, "before")
    await eventually(lambda: inbox.types() == ["before"])
    pid = pubsub.listener_pid
    assert pid is not None
    assert inbox.resets == 0
    async with pg_db.engine.connect() as conn:
        killed = (await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
    assert killed
    # One reset when the listener is lost, one once it listens again.
    await eventually(lambda: inbox.resets == 2 and pubsub.listening)
    assert pubsub.listener_pid not in (None, pid)
    await publish(pg_db, "after")
    await eventually(lambda: inbox.types() == ["before", "after"])
    assert inbox.resets == 2


async def test_postgres_listener_that_cannot_reconnect_resets_at_once_and_says_so(
    pg_db: Database, inbox: Inbox
) -> None:
    # E.g. the server is at max_connections: queries on pooled connections still work, a new
    # listening connection does not. Subscribers must not wait for it to come back to reset.
    pubsub = pg_db.pubsub
    assert isinstance(pubsub, PostgresPubSub)
    assert pubsub.listening
    good_dsn, pid = pubsub.dsn, pubsub.listener_pid
    pubsub.dsn = "postgresql://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1
    async with pg_db.engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await eventually(lambda: inbox.resets == 1 and not pubsub.listening)
    await asyncio.sleep(0.3)  # a few failed reconnects: no reset for those
    assert (inbox.resets, pubsub.listening) == (1, False)
    pubsub.dsn = good_dsn
    await eventually(lambda: pubsub.listening and inbox.resets == 2)
    await publish(pg_db, "back")
    await eventually(lambda: inbox.types() == ["back"])
