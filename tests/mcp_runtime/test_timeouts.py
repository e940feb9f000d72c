"""Tool-call timeouts: end within 10% of the limit, cancel upstream, never block the server."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest

from devplane.config import Settings
from devplane.sdk.client import Client
from tests.fixtures.mcp_servers import RecordedRequest, UpstreamMCPServer
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.helpers import Farm, call, call_text, gateway, new_chat, report, tools_ok

CALL_TIMEOUT = 1.0


@pytest.fixture
def mcp_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"mcp_connect_timeout_seconds": 2.0, "mcp_call_timeout_seconds": CALL_TIMEOUT})


def _cancelled(request: RecordedRequest) -> bool:
    return "notifications/cancelled" in request.rpc_methods


def _call_id(upstream: UpstreamMCPServer, tool: str) -> object:
    for request in upstream.requests:
        if "tools/call" in request.rpc_methods:
            message = json.loads(request.body)
            if message["params"]["name"] == tool:
                return message["id"]
    raise AssertionError(f"no tools/call of {tool}")


async def _timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    """The response and when it arrived (not when a poller noticed)."""
    response = await call
    return response, time.perf_counter()


async def _duration(admin: Client, chat_id: uuid.UUID) -> float:
    started = time.perf_counter()
    assert await call_text(admin, chat_id, "demo__echo", {"text": "x"}) == "x"
    return time.perf_counter() - started


async def _healthz_while(client: httpx.AsyncClient, task: asyncio.Task[Any]) -> list[float]:
    latencies: list[float] = []
    while not task.done():
        started = time.perf_counter()
        response = await client.get("/healthz")
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200
        await asyncio.sleep(0.05)
    return latencies


async def test_slow_call_times_out_on_time_and_is_cancelled_upstream(farm: Farm, live: Live, admin: Client) -> None:
    upstream = farm.add(UpstreamMCPServer())
    await register(admin, "demo", upstream.url)
    chat = await new_chat(admin)
    await tools_ok(admin, chat.id)
    assert await call_text(admin, chat.id, "demo__echo", {"text": "warm"}) == "warm"
    # What a call costs besides the tool (chat read, catalog, HTTP), on this machine, right now.
    overhead = statistics.median([await _duration(admin, chat.id) for _ in range(3)])

    async with httpx.AsyncClient(base_url=live.url) as probe:
        await probe.get("/healthz")  # open the probe's connection before timing it
        started = time.perf_counter()
        task = asyncio.create_task(_timed(call(admin, chat.id, "demo__slow", {"seconds": 30})))
        latencies = await _healthz_while(probe, task)
        response, ended = await task
        elapsed = ended - started
    report(
        f"timeout {CALL_TIMEOUT}s: call ended after {elapsed:.3f}s (a fast call: {overhead * 1000:.1f} ms); "
        f"/healthz max {max(latencies) * 1000:.1f} ms over {len(latencies)} probes"
    )
    assert response.status_code == 502, response.text
    assert "timed out" in response.json()["message"]
    assert CALL_TIMEOUT <= elapsed <= CALL_TIMEOUT * 1.1 + overhead
    assert len(latencies) >= 5
    # A loop blocked by the hanging call would hold /healthz for about the call timeout; a free one
    # answers in milliseconds. Bounded relative to the timeout, so a loaded machine cannot fail it.
    assert max(latencies) < CALL_TIMEOUT / 4

    cancelled = await upstream.await_request(_cancelled, within=2.0)
    note = json.loads(cancelled.body)
    assert note["params"]["requestId"] == _call_id(upstream, "slow")
    assert upstream.count_rpc("tools/call") == 5  # never retried
    # The session survives a timeout.
    assert await call_text(admin, chat.id, "demo__echo", {"text": "after"}) == "after"
    assert upstream.count_rpc("initialize") == 1


async def test_slow_call_through_the_gateway_times_out_and_cancels(farm: Farm, live: Live, admin: Client) -> None:
    upstream = farm.add(UpstreamMCPServer(transport="sse"))
    await register(admin, "demo", upstream.url, transport="sse")
    assert admin.token
    async with gateway(live.gateway, admin.token) as mcp:
        await mcp.list_tools()
        await mcp.call_tool("demo__echo", {"text": "warm"})
        started = time.perf_counter()
        await mcp.call_tool("demo__echo", {"text": "fast"})
        overhead = time.perf_counter() - started
        started = time.perf_counter()
        result = await mcp.call_tool("demo__slow", {"seconds": 30})
        elapsed = time.perf_counter() - started
        report(f"gateway over SSE upstream: timeout after {elapsed:.3f}s (a fast call: {overhead * 1000:.1f} ms)")
        assert result.is_error is True
        assert "timed out" in result.content[0].text  # type: ignore[union-attr]
        assert CALL_TIMEOUT <= elapsed <= CALL_TIMEOUT * 1.1 + overhead
        await upstream.await_request(_cancelled, within=2.0)
        again = await mcp.call_tool("demo__echo", {"text": "after"})
        assert again.content[0].text == "after"  # type: ignore[union-attr]
