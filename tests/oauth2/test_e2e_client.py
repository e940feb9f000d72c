"""End to end: the `mcp` SDK's OAuthClientProvider, given only the gateway URL, discovers devplane,
registers, signs in through the consent page (driven headlessly), and lists and calls tools."""

from __future__ import annotations

import httpx2
from mcp import Client as MCPClient
from mcp.client.streamable_http import streamable_http_client

from devplane.sdk.client import Client
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.live import LiveServer
from tests.oauth2.conftest import Consent, MemStorage, provider


async def _use_gateway(url: str, oauth: httpx2.Auth) -> list[str]:
    async with (
        httpx2.AsyncClient(auth=oauth) as http,
        MCPClient(streamable_http_client(url, http_client=http)) as mcp,
    ):
        names = [t.name for t in (await mcp.list_tools()).tools]
        result = await mcp.call_tool("demo__add", {"a": 2, "b": 3})
        assert result.structured_content == {"result": 5}
        return names


async def test_public_client_signs_in_and_calls_tools(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient, upstream: UpstreamMCPServer
) -> None:
    consent, storage = Consent(browser), MemStorage()
    names = await _use_gateway(live.gateway, provider(live.gateway, consent, storage))
    assert "demo__add" in names
    assert len(consent.pages) == 1
    assert "unverified" in consent.pages[0]
    assert storage.client_info is not None
    assert storage.client_info.client_secret is None
    assert storage.tokens is not None
    access = storage.tokens.access_token
    # The gateway never forwards the client's token upstream.
    assert all(access not in str(r.headers) for r in upstream.requests)
    # The same token is refused by the rest of the API.
    async with httpx2.AsyncClient(base_url=live.url) as http:
        me = await http.get("/api/v2/users/me", headers={"Authorization": f"Bearer {access}"})
        assert me.status_code == 401, me.text
    # Reconnect with the stored token: no second registration or consent.
    names = await _use_gateway(live.gateway, provider(live.gateway, consent, storage))
    assert "demo__add" in names
    assert len(consent.pages) == 1
