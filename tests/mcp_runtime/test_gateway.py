"""The MCP gateway, driven by the official `mcp` SDK client: selection, auth, progress, limits."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from devplane.config import Settings
from devplane.sdk.client import Client
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.helpers import Farm, call, call_text, gateway, member, new_chat

MAX_RESULT = 1024 * 1024  # the default
# The tool answers its text twice (content and structuredContent): about 600 kB on the wire, one
# SSE data line over aiohttp's 512 KiB readline limit.
FITS = 300_000
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
TOO_BIG = re.compile(rf"(larger than|exceeded the) {MAX_RESULT} byte")
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
def mcp_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"mcp_connect_timeout_seconds": 3.0, "mcp_call_timeout_seconds": 5.0, "mcp_max_result_bytes": MAX_RESULT}
    )


def _slugs(names: list[str]) -> set[str]:
    return {name.split("__", 1)[0] for name in names}


async def test_gateway_offers_the_users_servers_by_availability_and_selection(
    farm: Farm, live: Live, admin: Client
) -> None:
    up = farm.add(UpstreamMCPServer())
    forced = await register(admin, "forced", up.url, availability="force_on")
    await register(admin, "usual", up.url)
    optional = await register(admin, "optional", up.url, availability="default_off")
    await register(admin, "spare", up.url, availability="default_off")
    await register(admin, "off", up.url, availability="default_off", enabled=False)
    assert admin.token
    async with gateway(live.gateway, admin.token) as mcp:
        assert mcp.server_info is not None
        assert mcp.server_info.name == "devplane"
        assert _slugs([t.name for t in (await mcp.list_tools()).tools]) == {"forced", "usual"}
        result = await mcp.call_tool("usual__add", {"a": 2, "b": 40})
        assert result.structured_content == {"result": 42}
        with pytest.raises(MCPError):
            await mcp.call_tool("optional__echo", {"text": "not offered"})
    async with gateway(live.gateway, admin.token, "servers=optional,off,nonexistent") as mcp:
        names = [t.name for t in (await mcp.list_tools()).tools]
        assert _slugs(names) == {"forced", "usual", "optional"}
        assert (await mcp.call_tool("optional__echo", {"text": "hi"})).content[0].text == "hi"  # type: ignore[union-attr]

    chat = await new_chat(admin, [optional.id])
    async with gateway(live.gateway, admin.token, f"chat_id={chat.id}") as mcp:
        # Exactly the chat's effective set: its selection plus force_on; not default_on.
        assert _slugs([t.name for t in (await mcp.list_tools()).tools]) == {"forced", "optional"}
        assert set(chat.effective_mcp_server_ids) == {forced.id, optional.id}
        with pytest.raises(MCPError):
            await mcp.call_tool("usual__echo", {"text": "not in this chat"})
        with pytest.raises(MCPError):
            await mcp.call_tool("spare__echo", {"text": "not in this chat"})


async def test_gateway_authentication_and_chat_visibility(farm: Farm, live: Live, admin: Client) -> None:
    up = farm.add(UpstreamMCPServer())
    await register(admin, "demo", up.url)
    bob = await member(admin, "bob")
    try:
        async with httpx.AsyncClient() as http:
            response = await http.post(live.gateway, json=INITIALIZE, headers=ACCEPT)
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
            bad = {**ACCEPT, "Authorization": "Bearer not-a-devplane-token"}
            assert (await http.post(live.gateway, json=INITIALIZE, headers=bad)).status_code == 401
            assert bob.token
            good = {**ACCEPT, "Authorization": f"Bearer {bob.token}"}
            assert (await http.post(live.gateway, json=INITIALIZE, headers=good)).status_code == 200
            admins_chat = await new_chat(admin)
            listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
            for chat_id in (admins_chat.id, uuid.uuid4()):
                response = await http.post(f"{live.gateway}?chat_id={chat_id}", json=listing, headers=good)
                assert response.status_code == 404, response.text
            own = await new_chat(bob)
            response = await http.post(f"{live.gateway}?chat_id={own.id}", json=listing, headers=good)
            assert response.status_code == 200
            assert "demo__echo" in [t["name"] for t in response.json()["result"]["tools"]]
        refused = False
        try:  # the SDK loses the status: a 401 surfaces as MCPError(-32603), in exception groups
            async with gateway(live.gateway, "not-a-devplane-token") as mcp:
                await mcp.list_tools()
        except* MCPError:
            refused = True
        assert refused
        assert up.count_rpc("tools/call") == 0
    finally:
        await bob.close()


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
async def test_progress_big_results_and_sse_upstreams(farm: Farm, live: Live, admin: Client, transport: str) -> None:
    up = farm.add(UpstreamMCPServer(transport="sse" if transport == "sse" else "streamable_http"))
    await register(admin, "demo", up.url, transport=transport)
    chat = await new_chat(admin)
    assert await call_text(admin, chat.id, "demo__echo", {"text": "chat"}) == "chat"
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    assert admin.token
    async with gateway(live.gateway, admin.token) as mcp:
        result = await mcp.call_tool("demo__progress", {"steps": 3}, progress_callback=on_progress)
        assert result.content[0].text == "done 3"  # type: ignore[union-attr]
        assert seen == [(1, 3, "step 1/3"), (2, 3, "step 2/3"), (3, 3, "step 3/3")]

        fits = await mcp.call_tool("demo__big", {"size": FITS})
        assert fits.is_error is False
        assert len(fits.content[0].text) == FITS  # type: ignore[union-attr]
        too_big = await mcp.call_tool("demo__big", {"size": MAX_RESULT + 1})
        assert too_big.is_error is True
        assert TOO_BIG.search(too_big.content[0].text)  # type: ignore[union-attr]
        assert (await mcp.call_tool("demo__echo", {"text": "still"})).content[0].text == "still"  # type: ignore[union-attr]

    response = await call(admin, chat.id, "demo__big", {"size": MAX_RESULT + 1})
    assert response.status_code == 502, response.text
    assert TOO_BIG.search(response.json()["message"])
    assert len((await call(admin, chat.id, "demo__big", {"size": FITS})).json()["content"][0]["text"]) == FITS
    # Over streamable HTTP an oversize result costs nothing but itself. The SDK's SSE client drops
    # the whole stream on an event over 1 MiB, so an SSE upstream is reconnected after each one.
    assert up.count_rpc("initialize") == (1 if transport == "streamable_http" else 3)
