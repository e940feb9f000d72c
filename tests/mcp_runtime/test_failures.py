"""Broken upstreams: force_on fails closed, others degrade to a status; down, garbage, hung."""

from __future__ import annotations

import time

import pytest

from devplane.config import Settings
from devplane.sdk.client import Client
from tests.fixtures.mcp_servers import GarbageMode, GarbageServer, UpstreamMCPServer
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.helpers import Farm, call, call_text, chat_tools, new_chat, report, tools_ok

CONNECT_TIMEOUT = 1.5
SECRET = "sk-do-not-leak-0123456789"


@pytest.fixture
def mcp_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"mcp_connect_timeout_seconds": CONNECT_TIMEOUT, "mcp_call_timeout_seconds": 2.0})


async def test_failing_force_on_server_fails_the_chat_catalog_closed(farm: Farm, live: Live, admin: Client) -> None:
    good = farm.add(UpstreamMCPServer())
    down = farm.add(UpstreamMCPServer())
    await register(admin, "good", good.url)
    await register(admin, "required", down.url, availability="force_on")
    down.stop()
    chat = await new_chat(admin)
    response = await chat_tools(admin, chat.id)
    assert response.status_code == 502, response.text
    body = response.json()
    assert "'required'" in body["message"]
    assert "administrator" in body["message"]
    assert "(error: " in body["message"]
    response = await call(admin, chat.id, "good__echo", {"text": "x"})
    assert response.status_code == 502, response.text
    assert good.count_rpc("tools/call") == 0


async def test_failing_default_on_servers_only_report_a_status(farm: Farm, live: Live, admin: Client) -> None:
    good = farm.add(UpstreamMCPServer())
    down = farm.add(UpstreamMCPServer())
    hung = farm.add(GarbageServer("hang"))
    await register(admin, "good", good.url, availability="force_on")
    await tools_ok(admin, (await new_chat(admin)).id)  # warm: only the broken ones are timed below
    await register(admin, "down", down.url, auth_type="api_key", api_key_header="X-Api-Key", api_key_value=SECRET)
    await register(
        admin, "hung", hung.url, auth_type="custom_headers", custom_headers={"Authorization": f"Bearer {SECRET}"}
    )
    down.stop()
    chat = await new_chat(admin)
    started = time.perf_counter()
    body = await tools_ok(admin, chat.id)
    elapsed = time.perf_counter() - started
    report(f"catalog with a hung server: {elapsed:.2f}s (connect timeout {CONNECT_TIMEOUT}s)")
    servers = {s["slug"]: s for s in body["servers"]}
    assert servers["good"]["status"] == "connected"
    assert servers["down"]["status"] == "error"
    assert servers["hung"]["status"] == "timeout"
    assert CONNECT_TIMEOUT <= servers["hung"]["latency_ms"] / 1000 < CONNECT_TIMEOUT * 1.2
    assert elapsed < CONNECT_TIMEOUT * 2
    for server in servers.values():
        assert SECRET not in (server["reason"] or "")
        assert len(server["reason"] or "") <= 300
    assert {t["server_slug"] for t in body["tools"]} == {"good"}
    started = time.perf_counter()
    assert await call_text(admin, chat.id, "good__echo", {"text": "still works"}) == "still works"
    assert time.perf_counter() - started < CONNECT_TIMEOUT / 2  # not held up by the broken ones
    response = await call(admin, chat.id, "down__echo", {"text": "x"})
    assert response.status_code == 400, response.text  # not in the catalog: refused


@pytest.mark.parametrize("mode", ["html", "bad_jsonrpc", "broken_sse"])
async def test_garbage_upstream_is_an_error_status_not_a_crash(
    farm: Farm, live: Live, admin: Client, mode: GarbageMode
) -> None:
    garbage = farm.add(GarbageServer(mode))
    good = farm.add(UpstreamMCPServer())
    await register(admin, "junk", garbage.url, auth_type="api_key", api_key_header="X-Api-Key", api_key_value=SECRET)
    await register(admin, "good", good.url)
    chat = await new_chat(admin)
    body = await tools_ok(admin, chat.id)
    junk = next(s for s in body["servers"] if s["slug"] == "junk")
    report(f"{mode}: {junk['status']} {junk['reason']!r} in {junk['latency_ms']} ms")
    assert junk["status"] == "error"
    assert junk["reason"]
    assert len(junk["reason"]) <= 300
    assert SECRET not in junk["reason"]
    assert "<html" not in junk["reason"].lower()
    assert garbage.requests  # it was really asked
    assert await call_text(admin, chat.id, "good__echo", {"text": "ok"}) == "ok"
    response = await call(admin, chat.id, "junk__echo", {"text": "x"})
    assert response.status_code == 400, response.text
    assert SECRET not in live.logs.getvalue()


async def test_upstream_failures_during_a_call_are_502_with_a_reason(farm: Farm, live: Live, admin: Client) -> None:
    upstream = farm.add(UpstreamMCPServer())
    await register(admin, "demo", upstream.url, auth_type="api_key", api_key_header="X-Api-Key", api_key_value=SECRET)
    chat = await new_chat(admin)
    await tools_ok(admin, chat.id)
    # Tool-level failures are results, not transport errors.
    response = await call(admin, chat.id, "demo__fail", {"message": "nope"})
    assert response.status_code == 200, response.text
    assert response.json()["is_error"] is True
    assert "nope" in response.json()["content"][0]["text"]
    response = await call(admin, chat.id, "demo__boom")
    assert response.status_code == 200, response.text
    assert response.json()["is_error"] is True
    assert response.json()["error_code"] == -32603
    upstream.stop()
    response = await call(admin, chat.id, "demo__echo", {"text": "x"})
    assert response.status_code == 502, response.text
    assert SECRET not in response.text
    body = await tools_ok(admin, chat.id, refresh=True)
    assert body["servers"][0]["status"] == "error"
    assert SECRET not in str(body)
