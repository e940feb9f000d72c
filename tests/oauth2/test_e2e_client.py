"""End to end: the `mcp` SDK's OAuthClientProvider, given only the gateway URL, discovers devplane,
registers, signs in through the consent page (driven headlessly), and lists and calls tools."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp import Client as MCPClient
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import AnyUrl
from sqlalchemy import text

from devplane.config import Settings
from devplane.db.engine import make_engine
from devplane.sdk.client import Client
from devplane.sdk.mcp_tool_calls import MCPToolCall
from devplane.sdk.oauth2 import CreateOAuth2AppRequest
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.live import LiveServer
from tests.oauth2.conftest import REDIRECT, Consent, MemStorage, provider


async def _use_gateway(url: str, oauth: httpx2.Auth) -> list[str]:
    async with (
        httpx2.AsyncClient(auth=oauth) as http,
        MCPClient(streamable_http_client(url, http_client=http)) as mcp,
    ):
        names = [t.name for t in (await mcp.list_tools()).tools]
        result = await mcp.call_tool("demo__add", {"a": 2, "b": 3})
        assert result.structured_content == {"result": 5}
        return names


async def _wait_for_calls(admin: Client) -> list[MCPToolCall]:
    for _ in range(100):  # the log is written in batches, off the call path
        calls = (await admin.mcp_tool_calls()).tool_calls
        if calls:
            return calls
        await asyncio.sleep(0.05)
    raise AssertionError("no tool call was logged")


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
        # Routes that check tokens through the gateway's cache refuse it too.
        metrics = await http.get("/api/v2/metrics", headers={"Authorization": f"Bearer {access}"})
        assert metrics.status_code == 401, metrics.text
    # The tool-call log names the OAuth client the call came through.
    calls = await _wait_for_calls(admin)
    assert {str(c.oauth2_app_id) for c in calls} == {storage.client_info.client_id}
    # Reconnect with the stored token: no second registration or consent.
    names = await _use_gateway(live.gateway, provider(live.gateway, consent, storage))
    assert "demo__add" in names
    assert len(consent.pages) == 1


async def test_confidential_client_registers_and_gets_a_secret(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient
) -> None:
    consent, storage = Consent(browser), MemStorage()
    oauth = provider(live.gateway, consent, storage, auth_method="client_secret_basic", name="confidential")
    assert "demo__add" in await _use_gateway(live.gateway, oauth)
    assert storage.client_info is not None
    assert storage.client_info.client_secret is not None
    assert storage.client_info.client_secret.startswith("devplane_")


async def test_pre_registered_app(live: LiveServer, admin: Client, browser: httpx2.AsyncClient) -> None:
    app = await admin.create_oauth2_app(
        CreateOAuth2AppRequest(
            name="Team client", redirect_uris=[REDIRECT], token_endpoint_auth_method="client_secret_post"
        )
    )
    secret = await admin.create_oauth2_app_secret(app.id)
    storage = MemStorage(
        client_info=OAuthClientInformationFull(
            client_id=str(app.id),
            client_secret=secret.client_secret,
            redirect_uris=[AnyUrl(REDIRECT)],
            token_endpoint_auth_method="client_secret_post",
        )
    )
    consent = Consent(browser)
    assert "demo__add" in await _use_gateway(live.gateway, provider(live.gateway, consent, storage))
    assert "unverified" not in consent.pages[0]
    assert "Team client" in consent.pages[0]
    assert [a.name for a in await admin.oauth2_apps()] == ["Team client"]


async def test_servers_query_url_form(live: LiveServer, admin: Client, browser: httpx2.AsyncClient) -> None:
    url = f"{live.gateway}?servers=demo"
    consent, storage = Consent(browser), MemStorage()
    assert "demo__add" in await _use_gateway(url, provider(url, consent, storage))
    # The resource the client asked for was the gateway itself, without the query.
    assert "resource=" in consent.authorize_urls[0]
    assert "servers" not in parse_qs(urlsplit(consent.authorize_urls[0]).query)["resource"][0]


async def test_token_for_another_audience_is_refused(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient, provider_settings: Settings
) -> None:
    consent, storage = Consent(browser), MemStorage()
    await _use_gateway(live.gateway, provider(live.gateway, consent, storage))
    assert storage.tokens is not None
    engine = make_engine(provider_settings.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE api_keys SET audience = 'https://elsewhere.example/mcp' "
                    "WHERE login_type = 'oauth2_provider_app'"
                )
            )
    finally:
        await engine.dispose()
    async with httpx2.AsyncClient() as http:
        resp = await http.post(
            live.gateway,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Authorization": f"Bearer {storage.tokens.access_token}"},
        )
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["www-authenticate"]
    assert "resource_metadata=" in resp.headers["www-authenticate"]


async def _expire_access_tokens(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            await conn.execute(
                text("UPDATE api_keys SET expires_at = :at WHERE login_type = 'oauth2_provider_app'"), {"at": past}
            )
    finally:
        await engine.dispose()


async def test_client_refreshes_after_expiry_and_signs_in_again_after_revocation(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient, provider_settings: Settings
) -> None:
    consent, storage = Consent(browser), MemStorage()
    oauth = provider(live.gateway, consent, storage)
    await _use_gateway(live.gateway, oauth)
    assert storage.tokens is not None
    first = storage.tokens.access_token
    # An hour later: the access token expired, on the server and by the client's own clock.
    await _expire_access_tokens(provider_settings)
    oauth.context.token_expiry_time = time.time() - 1
    assert "demo__add" in await _use_gateway(live.gateway, oauth)
    assert storage.tokens.access_token != first
    assert len(consent.pages) == 1  # refreshed, not signed in again
    # The user revokes the app: the token gets a 401 and the client goes through consent again.
    assert storage.client_info is not None
    await admin.revoke_my_oauth2_app(storage.client_info.client_id)
    assert "demo__add" in await _use_gateway(live.gateway, oauth)
    assert len(consent.pages) == 2
