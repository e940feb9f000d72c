"""Upstream session reuse, reconnect after a restart, and teardown on config or token changes."""

from __future__ import annotations

import asyncio

from devplane.sdk.client import Client
from devplane.sdk.mcp import UpdateMCPServerConfigRequest
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.fixtures.oauth_server import OAuthServer
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.helpers import (
    Farm,
    call,
    call_text,
    connect_oauth2,
    gateway,
    member,
    new_chat,
    oauth2_fields,
    statuses,
    tools_ok,
)

N = 20


async def _closed_sessions(upstream: UpstreamMCPServer, count: int) -> None:
    """Wait until `count` distinct upstream sessions were ended with an HTTP DELETE."""
    for _ in range(200):
        ended = {r.headers.get("mcp-session-id") for r in upstream.requests if r.method == "DELETE"}
        if len(ended) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {count} closed sessions, saw {len(ended)}")


async def test_warm_calls_cost_exactly_one_upstream_request_each(farm: Farm, live: Live, admin: Client) -> None:
    upstream = farm.add(UpstreamMCPServer())
    sse = farm.add(UpstreamMCPServer(transport="sse"))
    await register(admin, "demo", upstream.url)
    await register(admin, "sse", sse.url, transport="sse")
    chat = await new_chat(admin)
    await tools_ok(admin, chat.id)
    assert await call_text(admin, chat.id, "demo__echo", {"text": "warm"}) == "warm"
    assert await call_text(admin, chat.id, "sse__echo", {"text": "warm"}) == "warm"
    upstream.reset_log()
    sse.reset_log()
    for i in range(N):
        assert await call_text(admin, chat.id, "demo__echo", {"text": str(i)}) == str(i)
        assert await call_text(admin, chat.id, "sse__echo", {"text": str(i)}) == str(i)
    assert admin.token
    async with gateway(live.gateway, admin.token) as mcp:
        for i in range(N):
            result = await mcp.call_tool("demo__add", {"a": i, "b": 1})
            assert result.structured_content == {"result": i + 1}
    await tools_ok(admin, chat.id)
    for server in (upstream, sse):
        methods = server.rpc_methods()
        assert "initialize" not in methods, methods
        assert "tools/list" not in methods, methods
    assert upstream.count_rpc("tools/call") == 2 * N
    assert sse.count_rpc("tools/call") == N
    assert len(upstream.requests) == 2 * N  # one HTTP request per call, nothing else
    assert {r.headers.get("mcp-session-id") for r in upstream.requests} != {None}
    assert len({r.headers.get("mcp-session-id") for r in upstream.requests}) == 1


async def test_reconnects_after_the_upstream_restarts(farm: Farm, live: Live, admin: Client) -> None:
    upstream = farm.add(UpstreamMCPServer())
    await register(admin, "demo", upstream.url)
    chat = await new_chat(admin)
    await tools_ok(admin, chat.id)
    assert await call_text(admin, chat.id, "demo__echo", {"text": "before"}) == "before"
    upstream.stop()
    upstream.start()  # same port, new process state: the old Mcp-Session-Id is unknown
    assert await call_text(admin, chat.id, "demo__echo", {"text": "after"}) == "after"
    assert upstream.count_rpc("initialize") == 2
    assert await call_text(admin, chat.id, "demo__echo", {"text": "again"}) == "again"
    assert upstream.count_rpc("initialize") == 2
    assert statuses(await tools_ok(admin, chat.id, refresh=True)) == {"demo": "connected"}


async def test_config_update_disable_and_delete_tear_sessions_down(farm: Farm, live: Live, admin: Client) -> None:
    upstream = farm.add(UpstreamMCPServer())
    config = await register(admin, "demo", upstream.url)
    chat = await new_chat(admin)
    await tools_ok(admin, chat.id)
    assert await call_text(admin, chat.id, "demo__echo", {"text": "1"}) == "1"
    assert upstream.count_rpc("initialize") == 1

    # A changed config gets a new session, and its new filters apply to the very next call.
    await admin.update_mcp_server(config.id, UpdateMCPServerConfigRequest(tool_deny_list=["add"]))
    assert (await call(admin, chat.id, "demo__add", {"a": 1, "b": 2})).status_code == 400
    assert await call_text(admin, chat.id, "demo__echo", {"text": "2"}) == "2"
    assert upstream.count_rpc("initialize") == 2
    assert upstream.count_rpc("tools/call") == 2
    await _closed_sessions(upstream, 1)  # the old one was closed

    await admin.update_mcp_server(config.id, UpdateMCPServerConfigRequest(enabled=False))
    assert (await call(admin, chat.id, "demo__echo", {"text": "3"})).status_code == 400
    assert (await tools_ok(admin, chat.id))["servers"] == []
    await _closed_sessions(upstream, 2)

    await admin.update_mcp_server(config.id, UpdateMCPServerConfigRequest(enabled=True))
    assert await call_text(admin, chat.id, "demo__echo", {"text": "4"}) == "4"
    assert upstream.count_rpc("initialize") == 3
    await admin.delete_mcp_server(config.id)
    assert (await call(admin, chat.id, "demo__echo", {"text": "5"})).status_code == 400
    assert upstream.count_rpc("tools/call") == 3
    await _closed_sessions(upstream, 3)


async def test_disconnecting_a_user_ends_their_session_only(
    farm: Farm, live: Live, admin: Client, oauth: OAuthServer
) -> None:
    upstream = farm.add(UpstreamMCPServer(require_bearer=oauth.validate_access_token))
    config = await register(admin, "tracker", upstream.url, **oauth2_fields(oauth))
    alice, bob = await member(admin, "alice"), await member(admin, "bob")
    try:
        chats = {}
        for name, client in (("alice", alice), ("bob", bob)):
            await connect_oauth2(client, oauth, config.id, name)
            chats[name] = (await new_chat(client, [config.id])).id
            assert await call_text(client, chats[name], "tracker__echo", {"text": name}) == name
        assert upstream.count_rpc("initialize") == 2
        calls = upstream.count_rpc("tools/call")

        await alice.mcp_oauth2_disconnect(config.id)
        response = await call(alice, chats["alice"], "tracker__echo", {"text": "x"})
        assert response.status_code in (400, 403), response.text
        assert upstream.count_rpc("tools/call") == calls
        body = await tools_ok(alice, chats["alice"])
        assert statuses(body) == {"tracker": "auth_required"}
        await _closed_sessions(upstream, 1)
        # Bob's session is untouched.
        assert await call_text(bob, chats["bob"], "tracker__echo", {"text": "bob"}) == "bob"
        assert upstream.count_rpc("initialize") == 2
    finally:
        await alice.close()
        await bob.close()
