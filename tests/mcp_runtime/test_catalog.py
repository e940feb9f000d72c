"""The catalog: fetched concurrently, served from cache, refreshed by tools/list_changed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from devplane.sdk.client import Client
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.helpers import Farm, call_text, gateway, new_chat, report, statuses, tools_ok
from tests.mcp_runtime.upstream_process import UpstreamProcess

SERVERS = 10
LIST_DELAY = 0.2


@pytest.fixture
def slow_upstreams() -> Iterator[UpstreamProcess]:
    """Requested before `live`, so the child starts while devplane does."""
    with UpstreamProcess(SERVERS, LIST_DELAY) as upstreams:
        yield upstreams


async def test_ten_slow_servers_are_listed_concurrently_then_from_cache(
    slow_upstreams: UpstreamProcess, farm: Farm, live: Live, admin: Client
) -> None:
    # One connect first, so the timing below leaves out the process's one-time costs (TLS trust
    # store, the SDK's first use).
    warm_up = await register(admin, "warm", farm.add(UpstreamMCPServer()).url, availability="default_off")
    await tools_ok(admin, (await new_chat(admin, [warm_up.id])).id)
    for i, url in enumerate(slow_upstreams.urls):
        await register(admin, f"slow{i:02d}", url)
    chat = await new_chat(admin)

    started = time.perf_counter()
    body = await tools_ok(admin, chat.id)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    again = await tools_ok(admin, chat.id)
    warm = time.perf_counter() - started
    report(f"catalog of {SERVERS} servers with {LIST_DELAY}s tools/list: cold {cold:.3f}s, warm {warm * 1000:.1f} ms")

    assert set(statuses(body).values()) == {"connected"}, body["servers"]
    assert len(body["servers"]) == SERVERS
    assert all(s["latency_ms"] >= LIST_DELAY * 1000 for s in body["servers"])
    # One after another, the list delays alone would take SERVERS * LIST_DELAY (2 s); concurrent,
    # about one delay. The bound is relative to that, not a wall-clock target: a loaded machine
    # stretches both, and only a sequential catalog crosses it.
    assert cold < SERVERS * LIST_DELAY * 0.75
    assert again["tools"] == body["tools"]
    assert admin.token
    async with gateway(live.gateway, admin.token) as mcp:
        listed = await mcp.list_tools()
    assert sorted(t.name for t in listed.tools) == [t["name"] for t in body["tools"]]
    for counts in slow_upstreams.counts():
        assert counts == {"initialize": 1, "tools/list": 1, "tools/call": 0}


@pytest.mark.parametrize("on_request_stream", [False, True], ids=["standalone-stream", "call-stream"])
async def test_tools_list_changed_refreshes_the_catalog(
    farm: Farm, live: Live, admin: Client, on_request_stream: bool
) -> None:
    upstream = farm.add(UpstreamMCPServer())
    await register(admin, "demo", upstream.url)
    chat = await new_chat(admin)
    names = [t["name"] for t in (await tools_ok(admin, chat.id))["tools"]]
    assert "demo__added_later" not in names
    await tools_ok(admin, chat.id)
    assert upstream.count_rpc("tools/list") == 1  # cached
    if not on_request_stream:
        # The standalone stream opens in the background after the handshake.
        await upstream.await_request(lambda r: r.method == "GET" and r.status == 200)
    text = await call_text(admin, chat.id, "demo__notify_change", {"on_request_stream": on_request_stream})
    assert text == "tools changed"
    for _ in range(100):
        names = [t["name"] for t in (await tools_ok(admin, chat.id))["tools"]]
        if "demo__added_later" in names:
            break
        await asyncio.sleep(0.02)
    assert "demo__added_later" in names
    assert upstream.count_rpc("tools/list") == 2
    assert await call_text(admin, chat.id, "demo__added_later") == "added later"
    assert upstream.count_rpc("initialize") == 1  # the same session throughout
