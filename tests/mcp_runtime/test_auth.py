"""Credentials per auth type reach the upstream, and nothing else does (issue 4, client pool)."""

from __future__ import annotations

from devplane.sdk.client import Client
from devplane.services.auth import SESSION_COOKIE
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.fixtures.oauth_server import OAuthServer
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.helpers import (
    Farm,
    assert_no_devplane_credentials,
    call,
    connect_oauth2,
    gateway,
    initialize_count,
    member,
    new_chat,
    oauth2_fields,
    seen_headers,
    statuses,
    tools_ok,
)

API_KEY = "k-0123-secret-api-key"


async def test_static_auth_types_send_exactly_their_headers(farm: Farm, live: Live, admin: Client) -> None:
    plain = farm.add(UpstreamMCPServer())
    keyed = farm.add(UpstreamMCPServer(require_header=("X-Api-Key", API_KEY)))
    custom = farm.add(UpstreamMCPServer(require_header=("X-Team", "blue")))
    await register(admin, "plain", plain.url)
    await register(admin, "keyed", keyed.url, auth_type="api_key", api_key_header="X-Api-Key", api_key_value=API_KEY)
    await register(
        admin, "custom", custom.url, auth_type="custom_headers", custom_headers={"X-Team": "blue", "X-Tenant": "acme"}
    )
    chat = await new_chat(admin)
    assert statuses(await tools_ok(admin, chat.id)) == {
        "custom": "connected",
        "keyed": "connected",
        "plain": "connected",
    }

    plain_seen = await seen_headers(admin, chat.id, "plain")
    assert "authorization" not in plain_seen
    keyed_seen = await seen_headers(admin, chat.id, "keyed")
    assert keyed_seen["x-api-key"] == API_KEY
    assert "authorization" not in keyed_seen
    custom_seen = await seen_headers(admin, chat.id, "custom")
    assert (custom_seen["x-team"], custom_seen["x-tenant"]) == ("blue", "acme")
    assert "authorization" not in custom_seen
    assert "x-api-key" not in plain_seen
    assert "x-api-key" not in custom_seen

    # A browser-style caller: devplane cookie and session header on the request to devplane.
    assert admin.token
    response = await call(admin, chat.id, "plain__echo", {"text": "hi"}, Cookie=f"{SESSION_COOKIE}={admin.token}")
    assert response.status_code == 200, response.text
    # A gateway caller: devplane token as a Bearer header.
    async with gateway(live.gateway, admin.token) as mcp:
        for slug in ("plain", "keyed", "custom"):
            result = await mcp.call_tool(f"{slug}__echo", {"text": "via gateway"})
            assert result.is_error is False

    for server in (plain, keyed, custom):
        assert server.requests
        assert_no_devplane_credentials(server.requests, admin.token)
    assert all("authorization" not in r.headers for r in plain.requests)
    assert all(r.headers.get("x-api-key") == API_KEY for r in keyed.requests)
    assert all("authorization" not in r.headers and "x-team" not in r.headers for r in keyed.requests)
    assert all(r.headers.get("x-team") == "blue" and r.headers.get("x-tenant") == "acme" for r in custom.requests)
    assert all("authorization" not in r.headers and "x-api-key" not in r.headers for r in custom.requests)


async def test_oauth2_sends_each_users_own_token_in_separate_sessions(
    farm: Farm, live: Live, admin: Client, oauth: OAuthServer
) -> None:
    upstream = farm.add(UpstreamMCPServer(require_bearer=oauth.validate_access_token))
    shared = farm.add(UpstreamMCPServer())
    config = await register(admin, "tracker", upstream.url, **oauth2_fields(oauth))
    plain = await register(admin, "plain", shared.url, availability="default_off")
    alice, bob = await member(admin, "alice"), await member(admin, "bob")
    try:
        await connect_oauth2(alice, oauth, config.id, "alice")
        await connect_oauth2(bob, oauth, config.id, "bob")
        tokens: dict[str, str] = {}
        for name, client in (("alice", alice), ("bob", bob)):
            chat = await new_chat(client, [config.id, plain.id])
            assert statuses(await tools_ok(client, chat.id)) == {"plain": "connected", "tracker": "connected"}
            authorization = (await seen_headers(client, chat.id, "tracker"))["authorization"]
            scheme, _, token = authorization.partition(" ")
            assert scheme == "Bearer"
            assert oauth.validate_access_token(token)
            info = oauth.token_info(token)
            assert info is not None
            assert info.subject == name
            tokens[name] = authorization
            for _ in range(3):
                assert (await call(client, chat.id, "tracker__echo", {"text": name})).status_code == 200
                assert (await call(client, chat.id, "plain__echo", {"text": name})).status_code == 200
        assert tokens["alice"] != tokens["bob"]
        # One upstream session per user credential, reused for that user's calls ...
        assert initialize_count(upstream.requests, tokens["alice"]) == 1
        assert initialize_count(upstream.requests, tokens["bob"]) == 1
        assert initialize_count(upstream.requests) == 2
        # ... and every request of a session carries that user's token and only it.
        by_session: dict[str, set[str]] = {}
        for request in upstream.requests:
            session_id = request.headers.get("mcp-session-id")
            if session_id:
                by_session.setdefault(session_id, set()).add(request.headers["authorization"])
        assert len(by_session) == 2
        assert all(len(auths) == 1 for auths in by_session.values())
        # Without credentials, both users share one session.
        assert initialize_count(shared.requests) == 1
        assert alice.token
        assert bob.token
        assert admin.token
        assert_no_devplane_credentials(upstream.requests, alice.token, bob.token, admin.token)
        assert_no_devplane_credentials(shared.requests, alice.token, bob.token, admin.token)
    finally:
        await alice.close()
        await bob.close()


async def test_oauth2_without_a_token_is_auth_required_and_never_reaches_upstream(
    farm: Farm, live: Live, admin: Client, oauth: OAuthServer
) -> None:
    upstream = farm.add(UpstreamMCPServer(require_bearer=oauth.validate_access_token))
    plain = farm.add(UpstreamMCPServer())
    config = await register(admin, "tracker", upstream.url, **oauth2_fields(oauth))
    plain_config = await register(admin, "plain", plain.url)
    carol = await member(admin, "carol")
    try:
        chat = await new_chat(carol, [config.id, plain_config.id])
        body = await tools_ok(carol, chat.id)
        tracker = next(s for s in body["servers"] if s["slug"] == "tracker")
        assert tracker["status"] == "auth_required"
        assert tracker["tool_count"] == 0
        assert tracker["reason"]
        assert statuses(body)["plain"] == "connected"
        assert [t["server_slug"] for t in body["tools"]] == ["plain"] * len(body["tools"])
        response = await call(carol, chat.id, "tracker__echo", {"text": "x"})
        assert response.status_code in (400, 403), response.text
        async with gateway(live.gateway, carol.token, "servers=tracker") as mcp:
            listed = await mcp.list_tools()
            assert not [t.name for t in listed.tools if t.name.startswith("tracker__")]
        assert upstream.requests == []
    finally:
        await carol.close()
