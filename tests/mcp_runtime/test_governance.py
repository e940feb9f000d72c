"""Tool catalog governance: allow/deny/glob, names, schemas, order; the admin's server check."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from devplane.sdk.client import Client
from devplane.sdk.mcp import UpdateMCPServerConfigRequest
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.helpers import EXP, Farm, call, call_text, gateway, member, new_chat, tools_ok

LONG_A = "summarize_the_quarterly_engineering_report_for_the_platform_team_and_send_it"
LONG_SLUG = "a-slug-as-long-as-the-rules-allow-" + "x" * 30  # 64 characters: every name is shortened
LONG_B = "summarize_the_quarterly_engineering_report_for_the_platform_team_and_file_it"


def _list_users() -> str:
    return "users"


def _list_secrets() -> str:
    return "secrets"


def _delete_all() -> str:
    return "deleted"


def _long_a(text: str = "a") -> str:
    return f"A:{text}"


def _long_b(text: str = "b") -> str:
    return f"B:{text}"


def _no_args() -> str:
    return "none"


def governed() -> UpstreamMCPServer:
    return UpstreamMCPServer(
        tools={"list_users": _list_users, "list_secrets": _list_secrets, "delete_all": _delete_all}
    )


async def test_allow_deny_and_globs_govern_listing_and_calls(farm: Farm, live: Live, admin: Client) -> None:
    upstream = farm.add(governed())
    await register(
        admin,
        "demo",
        upstream.url,
        tool_allow_list=["echo", "list_*", "delete_*"],
        tool_deny_list=["list_secre?s", "delete_all", "echo_*"],
    )
    chat = await new_chat(admin)
    body = await tools_ok(admin, chat.id)
    assert [t["name"] for t in body["tools"]] == ["demo__echo", "demo__list_users"]
    assert body["servers"][0]["tool_count"] == 2
    assert await call_text(admin, chat.id, "demo__list_users") == "users"

    assert admin.token
    async with gateway(live.gateway, admin.token) as mcp:
        listed = await mcp.list_tools()
        assert sorted(t.name for t in listed.tools) == ["demo__echo", "demo__list_users"]
        for name in ("demo__list_secrets", "demo__delete_all", "demo__add"):
            with pytest.raises(MCPError) as refused:
                await mcp.call_tool(name, {})
            assert "not allowed" in refused.value.error.message
    upstream.reset_log()
    # Denied (deny wins over allow), not allowed, unknown, or named without its prefix.
    for name in ("demo__list_secrets", "demo__delete_all", "demo__add", "demo__nope", "list_secrets", "echo"):
        response = await call(admin, chat.id, name, {"text": "x"})
        assert response.status_code == 400, response.text
        assert "not allowed" in response.json()["message"]
    assert upstream.count_rpc("tools/call") == 0


async def test_names_are_prefixed_long_ones_shortened_deterministically(farm: Farm, live: Live, admin: Client) -> None:
    upstream = farm.add(UpstreamMCPServer(tools={LONG_A: _long_a, LONG_B: _long_b, "no_args": _no_args}))
    # Registered out of order: the catalog is sorted by exposed name anyway.
    await register(admin, "zeta", farm.add(UpstreamMCPServer()).url)
    await register(admin, LONG_SLUG, farm.add(UpstreamMCPServer()).url)
    await register(admin, "alpha", upstream.url)
    chat = await new_chat(admin)
    body = await tools_ok(admin, chat.id)
    names = [t["name"] for t in body["tools"]]
    assert names == sorted(names)
    assert all(len(n) <= 64 for n in names)
    assert len(set(names)) == len(names)
    by_tool = {(t["server_slug"], t["tool_name"]): t for t in body["tools"]}
    assert by_tool[("zeta", "echo")]["name"] == "zeta__echo"
    assert by_tool[("alpha", "add")]["name"] == "alpha__add"
    short_a, short_b = by_tool[("alpha", LONG_A)]["name"], by_tool[("alpha", LONG_B)]["name"]
    for long, short in ((LONG_A, short_a), (LONG_B, short_b)):
        full = f"alpha__{long}"
        assert len(full) > 64
        digest = hashlib.sha256(full.encode()).hexdigest()[:8]
        assert short == f"{full[:55]}_{digest}"
    assert short_a != short_b
    long_echo = by_tool[(LONG_SLUG, "echo")]["name"]
    assert len(long_echo) == 64
    assert long_echo.startswith(LONG_SLUG[:55])
    # Stable across a refresh, and callable by the short name.
    again = await tools_ok(admin, chat.id, refresh=True)
    assert [t["name"] for t in again["tools"]] == names
    assert await call_text(admin, chat.id, short_a, {"text": "q"}) == "A:q"
    assert await call_text(admin, chat.id, short_b) == "B:b"
    assert await call_text(admin, chat.id, long_echo, {"text": "long slug"}) == "long slug"

    # Input schemas pass through, `required` always a list.
    add_schema: dict[str, Any] = by_tool[("alpha", "add")]["input_schema"]
    assert add_schema["type"] == "object"
    assert set(add_schema["properties"]) == {"a", "b"}
    assert sorted(add_schema["required"]) == ["a", "b"]
    assert by_tool[("alpha", "no_args")]["input_schema"]["required"] == []
    assert by_tool[("alpha", LONG_A)]["input_schema"]["required"] == []
    assert all(isinstance(t["input_schema"]["required"], list) for t in body["tools"])
    assert admin.token
    async with gateway(live.gateway, admin.token) as mcp:
        listed = await mcp.list_tools()
        assert [t.name for t in listed.tools] == names
        schemas = {t.name: t.input_schema for t in listed.tools}
        assert schemas[short_a]["required"] == []
        assert sorted(schemas["alpha__add"]["required"]) == ["a", "b"]
        result = await mcp.call_tool(short_b, {"text": "g"})
        assert result.content[0].text == "B:g"  # type: ignore[union-attr]


async def _server_tools(client: Client, server_id: object) -> httpx.Response:
    return await client.http.get(
        f"{EXP}/mcp/servers/{server_id}/tools", params={"refresh": "true"}, headers=client.headers()
    )


async def test_admin_checks_a_servers_raw_tools_and_filters(farm: Farm, live: Live, admin: Client) -> None:
    upstream = farm.add(governed())
    config = await register(
        admin,
        "demo",
        upstream.url,
        enabled=False,
        availability="default_off",
        tool_allow_list=["list_*", "echo"],
        tool_deny_list=["list_secrets"],
    )
    response = await _server_tools(admin, config.id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["server"]["status"] == "connected", body["server"]
    allowed = {t["name"]: t["allowed"] for t in body["tools"]}
    assert allowed == {name: name in ("list_users", "echo") for name in allowed}
    assert body["server"]["tool_count"] == 2
    before = upstream.count_rpc("tools/list")
    assert (await _server_tools(admin, config.id)).status_code == 200
    assert upstream.count_rpc("tools/list") == before + 1  # refresh=true bypasses the cache

    bob = await member(admin, "bob")
    try:
        assert (await _server_tools(bob, config.id)).status_code == 404  # disabled: not visible to members
        await admin.update_mcp_server(config.id, UpdateMCPServerConfigRequest(enabled=True))
        response = await _server_tools(bob, config.id)
        assert response.status_code == 403, response.text
        assert (await _server_tools(bob, "00000000-0000-0000-0000-000000000000")).status_code == 404
    finally:
        await bob.close()
