"""Change events against in-flight work, deterministically: the runtime over a stub database."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest

from devplane.db.database import Database
from devplane.db.mcp_rows import MCPServerConfigRow
from devplane.mcp import runtime as runtime_module
from devplane.mcp.pool import PoolKey
from devplane.mcp.runtime import MCPRuntime
from devplane.mcp.upstream import UpstreamSession

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def config_row(slug: str, **fields: Any) -> MCPServerConfigRow:
    base: dict[str, Any] = {
        "display_name": slug,
        "slug": slug,
        "url": f"http://127.0.0.1:9/{slug}",
        "availability": "default_on",
        "enabled": True,
    }
    return MCPServerConfigRow.blank(at=NOW, **(base | fields))


class StubPubSub:
    listening = True


class StubDB:
    """`read_session().system(...).list_mcp_server_configs()`, each read a snapshot of `rows`."""

    def __init__(self, rows: list[MCPServerConfigRow]) -> None:
        self.rows = rows
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.pubsub = StubPubSub()

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[StubDB]:
        yield self

    def system(self, reason: str) -> StubDB:
        assert reason == "MCP runtime loads server configs"
        return self

    async def list_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        snapshot = list(self.rows)  # what the read transaction sees
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        return snapshot


class StubSession:
    alive = True

    def __init__(self, name: str, closed: list[str]) -> None:
        self.name, self._closed = name, closed

    async def close(self) -> None:
        self._closed.append(self.name)


async def _no_tokens(user_id: uuid.UUID, config: MCPServerConfigRow) -> tuple[str, str]:
    raise AssertionError("no oauth2 here")


def runtime_over(db: StubDB) -> MCPRuntime:
    return MCPRuntime(cast(Database, db), _no_tokens)


async def test_a_change_during_a_config_load_is_not_lost() -> None:
    first = config_row("first")
    db = StubDB([first])
    runtime = runtime_over(db)
    db.gate = asyncio.Event()
    loading = asyncio.create_task(runtime.configs())  # reads [first], then waits at the gate
    await asyncio.sleep(0)
    second = config_row("second")
    db.rows.append(second)  # committed while the load is in flight ...
    event = asyncio.create_task(runtime.config_changed(second.id))  # ... and its event arrives
    await asyncio.sleep(0)
    db.gate.set()
    assert set(await loading) == {first.id, second.id}
    await event
    assert set(await runtime.configs()) == {first.id, second.id}
    reads = db.reads
    await runtime.configs()
    assert db.reads == reads  # cached again


async def test_a_late_event_keeps_what_was_built_from_the_current_state() -> None:
    old = config_row("demo")
    new = dataclasses.replace(old, updated_at=NOW + dt.timedelta(seconds=1), tool_deny_list=("add",))
    db = StubDB([new])
    runtime = runtime_over(db)
    closed: list[str] = []
    sessions = runtime.pool._sessions  # a late event must spare the session of the current version
    sessions[PoolKey(old.id, NOW.isoformat(), "fp")] = cast(UpstreamSession, StubSession("stale", closed))
    sessions[PoolKey(new.id, new.updated_at.isoformat(), "fp")] = cast(UpstreamSession, StubSession("current", closed))
    await runtime.config_changed(new.id)
    assert closed == ["stale"]
    assert runtime.pool.open_sessions == 1

    db.rows = [dataclasses.replace(new, enabled=False)]
    await runtime.config_changed(new.id)
    assert closed == ["stale", "current"]
    assert runtime.pool.open_sessions == 0


async def test_while_the_change_listener_is_down_configs_are_trusted_only_briefly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime_module, "UNSYNCED_TTL", 0.05)
    db = StubDB([config_row("a")])
    runtime = runtime_over(db)
    await runtime.configs()
    await runtime.configs()
    assert db.reads == 1  # listening: the 30 s cache holds
    db.pubsub.listening = False  # another replica's change would now arrive by no event
    await asyncio.sleep(0.06)
    db.rows = [config_row("a"), config_row("b")]
    assert {c.slug for c in (await runtime.configs()).values()} == {"a", "b"}
    assert db.reads == 2
    db.pubsub.listening = True
    await runtime.configs()
    assert db.reads == 2  # listening again: the long TTL applies
