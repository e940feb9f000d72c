"""Per-user MCP OAuth2 (devplane as the OAuth client): connect, callback, disconnect, against a
real authorization server on 127.0.0.1 (tests/fixtures/oauth_server.py) that verifies PKCE."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import structlog

from devplane.api.state import AppState
from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.mcp import CreateMCPServerConfigRequest, MCPServerConfig
from devplane.services.mcp_oauth import INVALID_STATE
from devplane.services.mcp_oauth_protocol import code_challenge, hash_state
from devplane.services.mcp_oauth_refresh import get_valid_access_token
from tests.api.conftest import Actor, assert_envelope, custom_server
from tests.api.mcp_oauth_flow import (
    MCP_URL,
    assert_writes_proceed,
    authorize,
    callback,
    callback_url,
    connect,
    create_oauth2_config,
    query,
    raw_rows,
    start,
)
from tests.fixtures.oauth_server import SECRET_BODY_SENTINEL, OAuthServer

ACCESS = "http://devplane.test"


@pytest.fixture
async def oauth(settings: Settings) -> AsyncIterator[OAuthServer]:
    prefix = f"{settings.effective_access_url}/api/experimental/mcp/servers/"
    async with OAuthServer(redirect_uri_prefixes=prefix) as server:
        yield server


@pytest.fixture
async def config(owner: Client, oauth: OAuthServer) -> MCPServerConfig:
    return await create_oauth2_config(owner, oauth)


def assert_page(response: httpx.Response, status: int) -> str:
    """An HTML answer of the callback with every security header."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'")
    assert "unsafe-inline" not in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    return response.text


async def connected(client: Client, server_id: uuid.UUID) -> bool:
    return next(s for s in await client.mcp_servers() if s.id == server_id).auth_connected


# --- connect ---------------------------------------------------------------------------------


async def test_connect_redirects_with_pkce_resource_and_the_configured_redirect_uri(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    response = await start(member.client, config.id, Host="evil.example", **{"X-Forwarded-Host": "evil.example"})

    assert response.status_code == 307
    assert response.headers["cache-control"] == "no-store"
    location = response.headers["location"]
    assert location.startswith(oauth.authorize_url + "?")
    params = query(location)
    assert params["response_type"] == "code"
    assert params["client_id"] == oauth.client.client_id
    assert params["redirect_uri"] == f"{ACCESS}/api/experimental/mcp/servers/{config.id}/oauth2/callback"
    assert params["scope"] == "read write"
    assert params["resource"] == MCP_URL
    assert params["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", params["code_challenge"])
    state_param = params["state"]
    assert len(base64.urlsafe_b64decode(state_param + "=" * (-len(state_param) % 4))) >= 16
    with pytest.raises(ValueError, match="badly formed"):
        uuid.UUID(state_param)
    # Server-side: only the hash of the state, and the verifier encrypted.
    rows = await raw_rows(state, "mcp_oauth2_states")
    assert len(rows) == 1
    assert hash_state(state_param) in rows[0]
    assert state_param not in rows[0]
    assert params["code_challenge"] not in rows[0]
    async with state.db.session() as tx:  # look at the decrypted row, then put it back
        pending = await tx.system("test: read a pending OAuth2 state").consume_mcp_oauth2_state(hash_state(state_param))
        await tx.rollback()
    assert pending.code_verifier not in rows[0]
    assert code_challenge(pending.code_verifier) == params["code_challenge"]
    assert pending.expires_at - pending.created_at == dt.timedelta(minutes=10)
    assert pending.redirect_uri == params["redirect_uri"]


async def test_connect_keeps_a_query_already_in_the_authorization_url(
    owner: Client, member: Actor, oauth: OAuthServer
) -> None:
    config = await create_oauth2_config(owner, oauth, slug="tenant", auth_url=f"{oauth.authorize_url}?tenant=acme")
    response = await start(member.client, config.id)
    assert response.status_code == 307
    assert query(response.headers["location"])["tenant"] == "acme"


async def test_connect_refuses_unusable_configs(
    owner: Client, member: Actor, oauth: OAuthServer, config: MCPServerConfig
) -> None:
    disabled = await create_oauth2_config(owner, oauth, slug="off", enabled=False)
    plain = await owner.create_mcp_server(
        CreateMCPServerConfigRequest.model_validate(
            {
                "display_name": "Plain",
                "slug": "plain",
                "transport": "sse",
                "url": MCP_URL,
                "auth_type": "none",
                "availability": "default_off",
                "enabled": True,
            }
        )
    )
    body = assert_envelope(await start(owner, disabled.id), 400)
    assert body["message"] == "MCP server is not enabled."
    assert_envelope(await start(member.client, disabled.id), 404)  # members do not see disabled configs
    body = assert_envelope(await start(member.client, plain.id), 400)
    assert body["message"] == "MCP server does not use OAuth2 authentication."
    assert_envelope(await start(member.client, uuid.uuid4()), 404)
    malformed = "/api/experimental/mcp/servers/nope/oauth2/connect"
    assert_envelope(await member.client.http.get(malformed, headers=member.client.headers()), 400)
    assert_envelope(await member.client.http.get(member.client.mcp_oauth2_connect_url(config.id)), 401)
    assert oauth.authorize_requests == []


async def test_experiment_off_forbids_every_oauth_route(settings: Settings) -> None:
    async with custom_server(settings, experiments=[]) as anon:
        base = f"/api/experimental/mcp/servers/{uuid.uuid4()}/oauth2"
        for method, path in (("GET", "/connect"), ("GET", "/callback"), ("DELETE", "/disconnect")):
            assert_envelope(await anon.http.request(method, base + path), 403)


# --- callback: success ----------------------------------------------------------------------


async def test_full_flow_stores_the_token_encrypted_and_connects_only_that_user(
    owner: Client, member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    assert not await connected(member.client, config.id)

    response = await connect(member.client, config.id)

    html = assert_page(response, 200)
    assert f'"serverID": "{config.id}"' in html
    assert '"type": "mcp-oauth2-complete"' in html
    assert f'postMessage(message, "{ACCESS}")' in html
    assert "You may close this window" in html
    script = re.search(r"<script>(.*)</script>", html, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in response.headers["content-security-policy"]

    [exchange] = oauth.token_requests
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["redirect_uri"] == f"{ACCESS}/api/experimental/mcp/servers/{config.id}/oauth2/callback"
    assert exchange["resource"] == MCP_URL
    assert exchange["code_verifier"]  # and the provider checked it against the S256 challenge
    assert exchange["_client_auth"] == "client_secret_basic"
    assert "client_secret" not in exchange

    assert await connected(member.client, config.id)
    assert not await connected(owner, config.id)  # tokens are per user

    token = await get_valid_access_token(state.db, member.user.id, config.id)
    assert token.token_type == "Bearer"
    assert oauth.validate_access_token(token.access_token, resource=MCP_URL)
    issued = oauth.token_info(token.access_token)
    assert issued is not None
    assert issued.refresh_token
    rows = await raw_rows(state, "mcp_server_user_tokens")
    assert len(rows) == 1
    assert token.access_token not in rows[0]
    assert issued.refresh_token not in rows[0]
    assert await raw_rows(state, "mcp_oauth2_states") == []  # consumed

    logs = await owner.audit_logs(f"action:connect resource_id:{config.id}")
    [entry] = logs.audit_logs
    assert entry.resource_type == "mcp_server_config"
    assert entry.user_id == member.user.id
    assert entry.status_code == 200
    assert token.access_token not in logs.model_dump_json()


async def test_no_transaction_is_open_while_the_code_is_exchanged(
    owner: Client, member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    url = await callback_url(member.client, config.id)
    with oauth.holding_requests():
        pending = asyncio.create_task(callback(member.client, url))
        await oauth.wait_for_requests(token=1)
        await assert_writes_proceed(owner, oauth, state, "meanwhile")
        assert await raw_rows(state, "mcp_oauth2_states") == []  # consumed and committed before the call
        assert await raw_rows(state, "mcp_server_user_tokens") == []
        assert not pending.done()
    assert_page(await pending, 200)
    assert await connected(member.client, config.id)
    assert len((await owner.audit_logs(f"action:connect resource_id:{config.id}")).audit_logs) == 1


async def test_a_config_deleted_during_the_exchange_keeps_no_token(
    owner: Client, member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    url = await callback_url(member.client, config.id)
    with oauth.holding_requests():
        pending = asyncio.create_task(callback(member.client, url))
        await oauth.wait_for_requests(token=1)
        await owner.delete_mcp_server(config.id)
    assert_page(await pending, 404)
    assert await raw_rows(state, "mcp_server_user_tokens") == []
    assert (await owner.audit_logs(f"action:connect resource_id:{config.id}")).audit_logs == []


async def test_a_public_client_sends_its_id_in_the_body(owner: Client, member: Actor, settings: Settings) -> None:
    prefix = f"{settings.effective_access_url}/api/experimental/mcp/servers/"
    async with OAuthServer(client_secret=None, redirect_uri_prefixes=prefix) as public:
        config = await create_oauth2_config(owner, public, slug="public", client_secret=None)
        assert_page(await connect(member.client, config.id), 200)
        [exchange] = public.token_requests
        assert exchange["_client_auth"] == "none"
        assert exchange["client_id"] == public.client.client_id
    assert await connected(member.client, config.id)


# --- callback: refusals ----------------------------------------------------------------------


async def _assert_refused(response: httpx.Response, oauth: OAuthServer, requests_before: int) -> None:
    html = assert_page(response, 400)
    assert INVALID_STATE in html
    assert len(oauth.token_requests) == requests_before  # no token request was sent


async def test_missing_and_unknown_states_are_refused(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer
) -> None:
    url = await callback_url(member.client, config.id)
    params = query(url)
    base = f"/api/experimental/mcp/servers/{config.id}/oauth2/callback"
    headers = member.client.headers()
    for bad in ({"code": params["code"]}, {"code": params["code"], "state": "x" * 43}, {**params, "state": ""}):
        await _assert_refused(await member.client.http.get(base, params=bad, headers=headers), oauth, 0)
    assert not await connected(member.client, config.id)
    assert_page(await callback(member.client, url), 200)  # the real state still works


async def test_an_expired_state_is_refused(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    url = await callback_url(member.client, config.id)
    async with state.db.transaction() as tx:
        store = tx.system("test: expire an OAuth2 state")
        pending = await store.consume_mcp_oauth2_state(hash_state(query(url)["state"]))
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await store.insert_mcp_oauth2_state(dataclasses.replace(pending, expires_at=past))
    await _assert_refused(await callback(member.client, url), oauth, 0)
    assert not await connected(member.client, config.id)


async def test_a_replayed_callback_is_refused(member: Actor, config: MCPServerConfig, oauth: OAuthServer) -> None:
    url = await callback_url(member.client, config.id)
    assert_page(await callback(member.client, url), 200)
    await _assert_refused(await callback(member.client, url), oauth, 1)


@pytest.mark.parametrize("victim_is_owner", [True, False])
async def test_another_users_state_is_refused_and_not_burned(
    owner: Client, member: Actor, config: MCPServerConfig, oauth: OAuthServer, *, victim_is_owner: bool
) -> None:
    # Owners may read everyone's rows, so this also proves the service's own user check.
    victim, attacker = (owner, member.client) if victim_is_owner else (member.client, owner)
    url = await callback_url(victim, config.id)
    await _assert_refused(await callback(attacker, url), oauth, 0)
    assert not await connected(attacker, config.id)
    assert not await connected(victim, config.id)
    assert_page(await callback(victim, url), 200)
    assert await connected(victim, config.id)


async def test_a_state_for_another_config_is_refused(
    owner: Client, member: Actor, config: MCPServerConfig, oauth: OAuthServer
) -> None:
    other = await create_oauth2_config(owner, oauth, slug="other")
    url = await callback_url(member.client, config.id)
    wrong = url.replace(str(config.id), str(other.id))
    await _assert_refused(await callback(member.client, wrong), oauth, 0)
    assert not await connected(member.client, other.id)
    assert_page(await callback(member.client, url), 200)


async def test_a_provider_error_is_shown_escaped(member: Actor, config: MCPServerConfig, oauth: OAuthServer) -> None:
    oauth.next_authorize_error = ("access_denied", '<script>alert("pwned")</script> & <b>bold</b>')
    response = await start(member.client, config.id)
    url = await authorize(response.headers["location"])
    assert query(url)["error"] == "access_denied"

    html = assert_page(await callback(member.client, url), 400)
    assert "OAuth2 provider returned an error." in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>" not in html
    assert "<b>" not in html
    assert oauth.token_requests == []
    assert not await connected(member.client, config.id)


async def test_a_missing_code_is_refused(member: Actor, config: MCPServerConfig, oauth: OAuthServer) -> None:
    params = query(await callback_url(member.client, config.id))
    base = f"/api/experimental/mcp/servers/{config.id}/oauth2/callback"
    response = await member.client.http.get(base, params={"state": params["state"]}, headers=member.client.headers())
    assert "Missing authorization code." in assert_page(response, 400)
    assert oauth.token_requests == []


async def test_a_failed_exchange_is_a_generic_502(member: Actor, config: MCPServerConfig, oauth: OAuthServer) -> None:
    url = await callback_url(member.client, config.id)
    oauth.fail_next_token_request = True
    with structlog.testing.capture_logs() as logs:
        response = await callback(member.client, url)
    html = assert_page(response, 502)
    assert "Failed to exchange authorization code for token." in html
    assert SECRET_BODY_SENTINEL not in html
    assert SECRET_BODY_SENTINEL not in repr(logs)
    assert any(e["event"] == "mcp_oauth.exchange_failed" for e in logs)
    assert not await connected(member.client, config.id)
    # The state was spent on that exchange: it cannot be used again.
    await _assert_refused(await callback(member.client, url), oauth, 1)


async def test_callback_answers_html_when_signed_out_unknown_or_malformed(
    anon: Client, member: Actor, config: MCPServerConfig, oauth: OAuthServer
) -> None:
    url = await callback_url(member.client, config.id)
    assert "You must be signed in." in assert_page(await callback(anon, url), 401)
    unknown = url.replace(str(config.id), str(uuid.uuid4()))
    assert_page(await callback(member.client, unknown), 404)
    malformed = url.replace(str(config.id), "not-a-uuid")
    assert "Invalid MCP server id." in assert_page(await callback(member.client, malformed), 400)
    assert oauth.token_requests == []
    assert_page(await callback(member.client, url), 200)  # none of that burned the state


# --- disconnect ------------------------------------------------------------------------------


async def test_disconnect_revokes_both_tokens_deletes_and_is_idempotent(
    owner: Client, member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    assert_page(await connect(member.client, config.id), 200)
    token = await get_valid_access_token(state.db, member.user.id, config.id)
    issued = oauth.token_info(token.access_token)
    assert issued is not None

    response = await member.client.http.delete(
        f"/api/experimental/mcp/servers/{config.id}/oauth2/disconnect", headers=member.client.headers()
    )

    assert response.status_code == 204
    assert oauth.revoked == [(issued.refresh_token, "refresh_token"), (token.access_token, "access_token")]
    assert all("client_secret" not in r for r in oauth.revocation_requests)  # Basic auth, not the body
    assert not oauth.validate_access_token(token.access_token)
    assert not await connected(member.client, config.id)
    assert await raw_rows(state, "mcp_server_user_tokens") == []

    await member.client.mcp_oauth2_disconnect(config.id)  # idempotent, nothing left to revoke
    assert len(oauth.revocation_requests) == 2

    [entry] = (await owner.audit_logs(f"action:disconnect resource_id:{config.id}")).audit_logs
    assert entry.user_id == member.user.id
    assert entry.resource_type == "mcp_server_config"
    assert entry.status_code == 204


async def test_no_transaction_is_open_while_revoking(
    owner: Client, member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    assert_page(await connect(member.client, config.id), 200)
    with oauth.holding_requests():
        pending = asyncio.create_task(member.client.mcp_oauth2_disconnect(config.id))
        await oauth.wait_for_requests(revocation=1)
        await assert_writes_proceed(owner, oauth, state, "meanwhile")
        # Deleted before the provider is asked: nothing can use or refresh it in the meantime.
        assert await raw_rows(state, "mcp_server_user_tokens") == []
        assert not pending.done()
    await pending
    assert len(oauth.revoked) == 2
    [entry] = (await owner.audit_logs(f"action:disconnect resource_id:{config.id}")).audit_logs
    assert entry.user_id == member.user.id


async def test_disconnect_deletes_even_when_revocation_fails(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer
) -> None:
    assert_page(await connect(member.client, config.id), 200)
    oauth.fail_revocation = True
    await member.client.mcp_oauth2_disconnect(config.id)
    assert len(oauth.revocation_requests) == 2
    assert oauth.revoked == []
    assert not await connected(member.client, config.id)


async def test_disconnect_without_a_revocation_endpoint_only_deletes(
    owner: Client, member: Actor, oauth: OAuthServer
) -> None:
    config = await create_oauth2_config(owner, oauth, slug="norevoke", revocation=False)
    assert_page(await connect(member.client, config.id), 200)
    await member.client.mcp_oauth2_disconnect(config.id)
    assert oauth.revocation_requests == []
    assert not await connected(member.client, config.id)


async def test_disconnect_ids(member: Actor, config: MCPServerConfig) -> None:
    await member.client.mcp_oauth2_disconnect(config.id)  # never connected: still 204
    with pytest.raises(DevplaneError) as unknown:
        await member.client.mcp_oauth2_disconnect(uuid.uuid4())
    assert unknown.value.status_code == 404
    response = await member.client.http.delete(
        "/api/experimental/mcp/servers/nope/oauth2/disconnect", headers=member.client.headers()
    )
    assert_envelope(response, 400)
