"""The tool-call log and the metrics: one row per governed call, sizes only, admin-readable;
Prometheus counters and histograms per server; a writer that drops instead of blocking."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, cast

import httpx2
import pytest
from mcp import Client as MCPClient
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import text

from devplane.api.state import AppState
from devplane.config import Settings
from devplane.db.database import Database
from devplane.db.engine import make_engine
from devplane.db.mcp_rows import MCPToolCallFilter, MCPToolCallRow
from devplane.mcp.calllog import ToolCallLog, fan_out
from devplane.mcp.metrics import MCPMetrics
from devplane.mcp.runtime import CallRecord
from devplane.sdk.chats import CreateChatRequest
from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.mcp_runtime import CallToolRequest
from devplane.sdk.users import RoleName
from tests.factories import login_as, make_user
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.mcp_runtime.conftest import Live, register

SENTINEL = "sentinel-9f3c1e-never-stored"
# Not a bucket boundary: uvloop's millisecond timers can end a 1.0 s timeout at 0.9998 s.
CALL_TIMEOUT = 1.2


@pytest.fixture
def mcp_settings(settings: Settings) -> Settings:
    # A short call timeout so the timeout outcome costs a second, not the default five.
    return settings.model_copy(
        update={
            "mcp_connect_timeout_seconds": 3.0,
            "mcp_call_timeout_seconds": CALL_TIMEOUT,
            "token_cache_seconds": 1.0,
        }
    )


@pytest.fixture
def upstream() -> Iterator[UpstreamMCPServer]:
    with UpstreamMCPServer() as server:
        yield server


# --- live: calls through chats and the gateway ----------------------------------------------------


@dataclass
class Made:
    config_id: uuid.UUID
    chat_id: uuid.UUID
    user_id: uuid.UUID
    args: dict[str, dict[str, Any]]  # tool -> the arguments sent


async def _chat_call(admin: Client, chat_id: uuid.UUID, name: str, arguments: dict[str, Any]) -> int:
    response = await admin.http.post(
        f"/api/experimental/chats/{chat_id}/tools/call",
        headers=admin.headers(),
        json=CallToolRequest(name=name, arguments=arguments).model_dump(),
    )
    return response.status_code


async def make_calls(live: Live, admin: Client, upstream: UpstreamMCPServer) -> Made:
    """Six calls: ok, tool_error, rpc_error, timeout and denied in a chat; ok through the gateway."""
    config = await register(admin, "demo", upstream.url, tool_deny_list=["add"])
    chat = await admin.create_chat(CreateChatRequest())
    args: dict[str, dict[str, Any]] = {
        "echo": {"text": SENTINEL},
        "fail": {"message": SENTINEL},
        "boom": {},
        "slow": {"seconds": CALL_TIMEOUT * 3},
        "add": {"a": 1, "b": 2, "note": SENTINEL},
    }
    assert await _chat_call(admin, chat.id, "demo__echo", args["echo"]) == 200
    assert await _chat_call(admin, chat.id, "demo__fail", args["fail"]) == 200  # isError result
    assert await _chat_call(admin, chat.id, "demo__boom", args["boom"]) == 200  # JSON-RPC error, as isError
    assert await _chat_call(admin, chat.id, "demo__slow", args["slow"]) == 502
    assert await _chat_call(admin, chat.id, "demo__add", args["add"]) == 400  # filtered out by the deny list
    assert admin.token
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {admin.token}"}) as http,
        MCPClient(streamable_http_client(live.gateway, http_client=http)) as mcp,
    ):
        result = await mcp.call_tool("demo__echo", {"text": SENTINEL + "-gateway"})
        assert not result.is_error
    return Made(config_id=config.id, chat_id=chat.id, user_id=(await admin.me()).id, args=args)


async def wait_for_rows(admin: Client, n: int, within: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        response = await admin.mcp_tool_calls(limit=1000)
        if response.count >= n or time.monotonic() > deadline:
            assert response.count == n, response
            return [c.model_dump(mode="json") for c in response.tool_calls]
        await asyncio.sleep(0.1)


async def raw_rows(settings: Settings) -> list[dict[str, Any]]:
    """Every column of every row, straight from the database (not through devplane)."""
    engine = make_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text("SELECT * FROM mcp_tool_calls"))
            return [dict(r._mapping) for r in result]
    finally:
        await engine.dispose()


def _compact_size(value: Any) -> int:
    """Bytes of the value as compact UTF-8 JSON, the form it is forwarded in."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


async def test_each_call_is_logged_with_sizes_and_never_its_content(
    live: Live, admin: Client, upstream: UpstreamMCPServer, mcp_settings: Settings
) -> None:
    made = await make_calls(live, admin, upstream)
    rows = await wait_for_rows(admin, 6)
    by_outcome: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_outcome.setdefault(row["outcome"], []).append(row)
    assert sorted(by_outcome) == ["denied", "ok", "rpc_error", "timeout", "tool_error"]
    assert len(by_outcome["ok"]) == 2

    in_chat = {r["tool"]: r for r in rows if r["chat_id"] == str(made.chat_id)}
    assert set(in_chat) == {"echo", "fail", "boom", "slow", "demo__add"}
    for tool in ("echo", "fail", "boom", "slow"):
        row = in_chat[tool]
        assert row["server_id"] == str(made.config_id)
        assert row["server_slug"] == "demo"
        assert row["user_id"] == str(made.user_id)
        assert row["arguments_bytes"] == (_compact_size(made.args[tool]) if made.args[tool] else 0)
    assert in_chat["echo"]["result_bytes"] > len(SENTINEL)  # the echoed text is counted, not kept
    assert in_chat["fail"]["outcome"] == "tool_error"
    assert in_chat["boom"]["error_class"].startswith("jsonrpc_")
    assert in_chat["slow"]["error_class"] == "UpstreamTimeout"
    # uvloop's timers fire on the loop's cached clock with millisecond granularity: a timeout
    # can end a fraction of a millisecond before the limit by perf_counter.
    assert CALL_TIMEOUT * 1000 - 2 <= in_chat["slow"]["duration_ms"] < CALL_TIMEOUT * 1000 * 1.5
    assert in_chat["slow"]["result_bytes"] == 0
    # A filtered tool is refused before the catalog resolves it: no server, the exposed name.
    denied = in_chat["demo__add"]
    assert (denied["outcome"], denied["error_class"], denied["server_id"]) == ("denied", "ToolNotAllowed", None)
    assert denied["arguments_bytes"] == _compact_size(made.args["add"])
    assert upstream.count_rpc("tools/call") == 5  # the denied call never reached it

    gateway = [r for r in rows if r["chat_id"] is None]
    assert len(gateway) == 1
    assert (gateway[0]["tool"], gateway[0]["outcome"]) == ("echo", "ok")

    times = [r["created_at"] for r in rows]
    assert times == sorted(times, reverse=True), "newest first"

    listing = (await admin.http.get("/api/experimental/mcp/tool-calls", headers=admin.headers())).text
    stored = await raw_rows(mcp_settings)
    assert len(stored) == 6
    assert SENTINEL not in listing
    assert SENTINEL not in repr(stored)


async def test_filters_and_pagination(live: Live, admin: Client, upstream: UpstreamMCPServer) -> None:
    made = await make_calls(live, admin, upstream)
    await wait_for_rows(admin, 6)

    async def count(**filters: Any) -> int:
        return (await admin.mcp_tool_calls(**filters)).count

    assert await count(server_id=made.config_id) == 5  # all but the denied call, which has no server
    assert await count(chat_id=made.chat_id) == 5
    assert await count(user_id=made.user_id) == 6
    assert await count(user_id=uuid.uuid4()) == 0
    assert await count(tool="echo") == 2
    assert await count(tool="echo", chat_id=made.chat_id) == 1
    assert await count(outcome="timeout") == 1
    assert await count(server_id=made.config_id, outcome="ok") == 2
    now = dt.datetime.now(dt.UTC)
    assert await count(since=now - dt.timedelta(minutes=5)) == 6
    assert await count(since=now + dt.timedelta(minutes=5)) == 0
    assert await count(until=now - dt.timedelta(minutes=5)) == 0

    everything = [c.id for c in (await admin.mcp_tool_calls(limit=1000)).tool_calls]
    pages: list[uuid.UUID] = []
    for offset in (0, 4):
        page = await admin.mcp_tool_calls(limit=4, offset=offset)
        assert page.count == 6
        pages.extend(c.id for c in page.tool_calls)
    assert pages == everything

    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"server_id": "nope"}):
        response = await admin.http.get("/api/experimental/mcp/tool-calls", headers=admin.headers(), params=params)
        assert response.status_code == 400, params
    with pytest.raises(DevplaneError) as bad_range:
        await admin.mcp_tool_calls(since=now, until=now - dt.timedelta(seconds=1))
    assert bad_range.value.status_code == 400


async def test_members_cannot_read_the_log_or_metrics_auditors_can(live: Live, admin: Client) -> None:
    member_user = await make_user(admin)
    auditor_user = await make_user(admin, roles=[RoleName.AUDITOR])
    async with (
        await login_as(admin, member_user) as member,
        await login_as(admin, auditor_user) as auditor,
        Client(live.url) as anonymous,
    ):
        for client, status in ((member, 403), (anonymous, 401)):
            with pytest.raises(DevplaneError) as listing:
                await client.mcp_tool_calls()
            assert listing.value.status_code == status
            with pytest.raises(DevplaneError) as scrape:
                await client.metrics()
            assert scrape.value.status_code == status
        assert (await auditor.mcp_tool_calls()).count == 0
        assert "devplane_mcp_pool_sessions_open 0" in await auditor.metrics()


def _samples(exposition: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line and not line.startswith("#")
    }


async def test_metrics_count_calls_errors_latency_and_sessions(
    live: Live, admin: Client, upstream: UpstreamMCPServer
) -> None:
    await make_calls(live, admin, upstream)
    response = await admin.http.get("/api/v2/metrics", headers=admin.headers())
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    exposition = response.text
    assert "# TYPE devplane_mcp_tool_calls_total counter" in exposition
    assert "# TYPE devplane_mcp_tool_call_duration_seconds histogram" in exposition
    samples = _samples(exposition)
    calls = "devplane_mcp_tool_calls_total"
    assert samples[f'{calls}{{server="demo",outcome="ok"}}'] == 2
    assert samples[f'{calls}{{server="demo",outcome="tool_error"}}'] == 1
    assert samples[f'{calls}{{server="demo",outcome="rpc_error"}}'] == 1
    assert samples[f'{calls}{{server="demo",outcome="timeout"}}'] == 1
    assert samples[f'{calls}{{server="",outcome="denied"}}'] == 1
    errors = "devplane_mcp_tool_call_errors_total"
    assert samples[f'{errors}{{server="demo",error_class="UpstreamTimeout"}}'] == 1
    assert samples[f'{errors}{{server="demo",error_class="tool_error"}}'] == 1
    assert samples[f'{errors}{{server="",error_class="ToolNotAllowed"}}'] == 1
    hist = "devplane_mcp_tool_call_duration_seconds"
    assert samples[f'{hist}_count{{server="demo"}}'] == 5
    assert samples[f'{hist}_bucket{{server="demo",le="+Inf"}}'] == 5
    assert samples[f'{hist}_bucket{{server="demo",le="1"}}'] == 4  # all but the timeout
    assert samples[f'{hist}_bucket{{server="demo",le="2.5"}}'] == 5
    assert samples[f'{hist}_sum{{server="demo"}}'] >= CALL_TIMEOUT
    assert samples["devplane_mcp_pool_sessions_open"] >= 1
    assert samples['devplane_mcp_tool_call_log_dropped_total{reason="queue_full"}'] == 0
    assert SENTINEL not in exposition


# --- the writer, without a server ---------------------------------------------------------------


def call_record(**overrides: Any) -> CallRecord:
    base = CallRecord(
        started_at=time.time(),
        user_id=uuid.uuid4(),
        chat_id=None,
        config_id=None,
        server_slug="demo",
        tool="echo",
        duration_ms=1.25,
        outcome="ok",
        error_class="",
        arguments_bytes=12,
        result_bytes=34,
    )
    return replace(base, **overrides)


async def stored(state: AppState) -> list[MCPToolCallRow]:
    async with state.db.read_session() as tx:
        store = tx.system("test: read the tool-call log")
        result: tuple[list[MCPToolCallRow], int] = await store.list_mcp_tool_calls(MCPToolCallFilter(limit=1000))
    return result[0]


async def test_record_drops_and_counts_when_the_queue_is_full(state: AppState) -> None:
    calls = ToolCallLog(state.db, max_queue=2)  # not started: nothing drains the queue
    for _ in range(5):
        calls.record(call_record())  # synchronous: it cannot wait for room
    assert calls.pending == 2
    assert calls.dropped["queue_full"] == 3
    await calls.close()
    assert len(await stored(state)) == 2, "close() writes what was queued"
    calls.record(call_record())
    assert calls.dropped["closed"] == 1


async def test_the_loop_writes_batches(state: AppState) -> None:
    sizes: list[int] = []
    all_written = asyncio.Event()

    class Spy(ToolCallLog):
        async def _write(self, batch: list[CallRecord]) -> None:
            sizes.append(len(batch))
            await super()._write(batch)
            if self.written == 7:
                all_written.set()

    calls = Spy(state.db, batch_size=3, interval=0.05)
    calls.start()
    for _ in range(7):
        calls.record(call_record())
    async with asyncio.timeout(5):
        await all_written.wait()
    await calls.close()
    assert sizes == [3, 3, 1]
    assert len(await stored(state)) == 7


async def test_ids_deleted_since_the_call_are_stored_as_null(state: AppState) -> None:
    calls = ToolCallLog(state.db)
    calls.record(call_record(user_id=uuid.uuid4(), config_id=uuid.uuid4(), chat_id=uuid.uuid4()))
    await calls.close()
    [row] = await stored(state)
    assert (row.user_id, row.mcp_server_config_id) == (None, None)
    assert row.chat_id is not None  # no FK: kept as given
    assert calls.dropped["write_error"] == 0


async def test_a_failed_write_is_counted_not_raised(state: AppState) -> None:
    class BrokenTransaction:
        async def __aenter__(self) -> None:
            raise ConnectionError("database down")

        async def __aexit__(self, *exc: object) -> None:
            return None

    class BrokenDB:
        def transaction(self) -> BrokenTransaction:
            return BrokenTransaction()

    calls = ToolCallLog(cast(Database, BrokenDB()))
    calls.record(call_record())
    calls.record(call_record())
    await calls.close()
    assert calls.dropped["write_error"] == 2


def test_fan_out_isolates_a_failing_recorder() -> None:
    seen: list[CallRecord] = []

    def broken(rec: CallRecord) -> None:
        raise RuntimeError("recorder bug")

    record = fan_out(broken, seen.append)
    rec = call_record()
    record(rec)
    assert seen == [rec]


def test_metrics_escape_labels_and_accumulate_buckets() -> None:
    metrics = MCPMetrics()
    metrics.observe(call_record(server_slug='we"ird\\', duration_ms=0.5))
    metrics.observe(call_record(server_slug='we"ird\\', duration_ms=3000, outcome="timeout", error_class="X"))
    samples = _samples(metrics.render(sessions_open=3, dropped={"queue_full": 2}))
    server = 'server="we\\"ird\\\\"'
    hist = "devplane_mcp_tool_call_duration_seconds"
    assert samples[f'{hist}_bucket{{{server},le="0.001"}}'] == 1
    assert samples[f'{hist}_bucket{{{server},le="2.5"}}'] == 1
    assert samples[f'{hist}_bucket{{{server},le="5"}}'] == 2
    assert samples[f"{hist}_sum{{{server}}}"] == pytest.approx(3.0005)
    assert samples[f'devplane_mcp_tool_call_errors_total{{{server},error_class="X"}}'] == 1
    assert samples["devplane_mcp_pool_sessions_open"] == 3
    assert samples['devplane_mcp_tool_call_log_dropped_total{reason="queue_full"}'] == 2
