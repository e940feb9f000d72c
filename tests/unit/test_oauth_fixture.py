"""Self-test of the loopback OAuth2 authorization server fixture.

Other tests trust this fixture to behave like a real provider, so its protocol rules
(PKCE, rotation, revocation) and fault toggles are pinned down here with a plain
HTTP client, independently of devplane's own OAuth client code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.fixtures.oauth_server import SECRET_BODY_SENTINEL, OAuthServer

CLIENT_ID = "devplane-test-client"
CLIENT_SECRET = "s3cr3t-value"
REDIRECT_URI = "http://127.0.0.1:8765/oauth/callback"
RESOURCE = "http://127.0.0.1:9999/mcp"


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def server() -> Iterator[OAuthServer]:
    with OAuthServer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scopes=["read", "write"]) as srv:
        yield srv


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    # No redirect following: the 302 to the callback *is* the result under test.
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        yield client


def _authorize(http: httpx.Client, server: OAuthServer, challenge: str | None, **extra: str) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "state": "st-123",
        "scope": "read",
        "resource": RESOURCE,
        **extra,
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return http.get(server.authorize_url, params=params)


def _get_code(http: httpx.Client, server: OAuthServer, challenge: str) -> str:
    response = _authorize(http, server, challenge)
    assert response.status_code == 302
    return _query(response.headers["location"])["code"]


def _exchange(
    http: httpx.Client,
    server: OAuthServer,
    code: str,
    verifier: str | None,
    *,
    post_auth: bool = False,
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    if post_auth:
        data |= {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        return http.post(server.token_url, data=data)
    return http.post(server.token_url, data=data, auth=(CLIENT_ID, CLIENT_SECRET))


def _refresh(http: httpx.Client, server: OAuthServer, refresh_token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return http.post(server.token_url, data=data, auth=(CLIENT_ID, CLIENT_SECRET))


def _full_flow(http: httpx.Client, server: OAuthServer) -> dict[str, Any]:
    verifier, challenge = _pkce_pair()
    response = _exchange(http, server, _get_code(http, server, challenge), verifier)
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    return token


def test_code_pkce_flow_issues_tokens_and_records_requests(server: OAuthServer, http: httpx.Client) -> None:
    verifier, challenge = _pkce_pair()
    response = _authorize(http, server, challenge)

    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    callback = _query(location)
    assert callback["state"] == "st-123"
    assert server.authorize_requests[-1] == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "state": "st-123",
        "scope": "read",
        "resource": RESOURCE,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }

    response = _exchange(http, server, callback["code"], verifier, post_auth=True)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == "read"
    assert token["refresh_token"]
    assert server.validate_access_token(token["access_token"])
    assert server.validate_access_token(token["access_token"], resource=RESOURCE)
    assert not server.validate_access_token(token["access_token"], resource="http://other/mcp")
    assert not server.validate_access_token("never-issued")
    info = server.token_info(token["access_token"])
    assert info is not None
    assert info.subject == "test-user"
    assert info.resource == RESOURCE

    recorded = server.token_requests[-1]
    assert recorded["grant_type"] == "authorization_code"
    assert recorded["code_verifier"] == verifier
    assert recorded["client_secret"] == "***"
    assert recorded["_client_auth"] == "client_secret_post"
    assert CLIENT_SECRET not in repr(server.token_requests)


def test_pkce_is_enforced(server: OAuthServer, http: httpx.Client) -> None:
    _, challenge = _pkce_pair()
    wrong_verifier, _ = _pkce_pair()
    response = _exchange(http, server, _get_code(http, server, challenge), wrong_verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"

    response = _exchange(http, server, _get_code(http, server, challenge), None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"

    # Authorization without a challenge, or with "plain", bounces back to the client.
    for extra in ({}, {"code_challenge": challenge, "code_challenge_method": "plain"}):
        response = _authorize(http, server, None, **extra)
        assert response.status_code == 302
        assert _query(response.headers["location"])["error"] == "invalid_request"


def test_code_is_single_use_and_replay_revokes(server: OAuthServer, http: httpx.Client) -> None:
    verifier, challenge = _pkce_pair()
    code = _get_code(http, server, challenge)
    first = _exchange(http, server, code, verifier)
    assert first.status_code == 200

    replay = _exchange(http, server, code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert not server.validate_access_token(first.json()["access_token"])


def test_client_authentication_is_required(server: OAuthServer, http: httpx.Client) -> None:
    verifier, challenge = _pkce_pair()
    code = _get_code(http, server, challenge)
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    response = http.post(server.token_url, data=data, auth=(CLIENT_ID, "wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_redirect_uri_policy(http: httpx.Client) -> None:
    _, challenge = _pkce_pair()
    with OAuthServer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as srv:
        # Default policy is loopback only; a foreign URI gets a 400, never a redirect.
        response = _authorize(http, srv, challenge, redirect_uri="https://evil.example/cb")
        assert response.status_code == 400
        assert "location" not in response.headers

    with OAuthServer(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri_prefixes="https://app.example/",
    ) as srv:
        ok = _authorize(http, srv, challenge, redirect_uri="https://app.example/oauth/cb")
        assert ok.status_code == 302
        assert ok.headers["location"].startswith("https://app.example/oauth/cb?code=")
        refused = _authorize(http, srv, challenge)  # loopback, but not under the prefix
        assert refused.status_code == 400


def test_refresh_rotates(server: OAuthServer, http: httpx.Client) -> None:
    token = _full_flow(http, server)

    response = _refresh(http, server, token["refresh_token"])
    assert response.status_code == 200, response.text
    refreshed = response.json()
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["access_token"] != token["access_token"]
    assert server.validate_access_token(refreshed["access_token"])
    old = server.token_info(token["refresh_token"])
    assert old is not None
    assert old.rotated
    assert server.token_requests[-1]["grant_type"] == "refresh_token"

    reused = _refresh(http, server, token["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert server.refresh_count == 2

    again = _refresh(http, server, refreshed["refresh_token"])
    assert again.status_code == 200


def test_revocation(server: OAuthServer, http: httpx.Client) -> None:
    token = _full_flow(http, server)
    auth = (CLIENT_ID, CLIENT_SECRET)

    response = http.post(
        server.revocation_url,
        data={"token": token["access_token"], "token_type_hint": "access_token"},
        auth=auth,
    )
    assert response.status_code == 200
    assert not server.validate_access_token(token["access_token"])
    assert _refresh(http, server, token["refresh_token"]).status_code == 200

    token = _full_flow(http, server)
    response = http.post(
        server.revocation_url,
        data={
            "token": token["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert response.status_code == 200
    assert server.revoked[-1] == (token["refresh_token"], None)
    # Revoking the grant's refresh token takes its access token with it.
    assert not server.validate_access_token(token["access_token"])
    assert _refresh(http, server, token["refresh_token"]).json()["error"] == "invalid_grant"

    # RFC 7009: unknown tokens are not an error.
    assert http.post(server.revocation_url, data={"token": "nope"}, auth=auth).status_code == 200

    server.fail_revocation = True
    failed = http.post(server.revocation_url, data={"token": "x"}, auth=auth)
    assert failed.status_code == 503
    assert server.revoked[-1] == ("nope", None)
    assert len(server.revocation_requests) == 4


def test_authorize_error_toggle_is_one_shot(server: OAuthServer, http: httpx.Client) -> None:
    _, challenge = _pkce_pair()
    hostile = '<script>alert("1")</script>'
    server.next_authorize_error = ("access_denied", hostile)

    response = _authorize(http, server, challenge)
    assert response.status_code == 302
    callback = _query(response.headers["location"])
    assert callback == {
        "error": "access_denied",
        "error_description": hostile,
        "state": "st-123",
    }
    assert len(server.authorize_requests) == 1

    assert "code" in _query(_authorize(http, server, challenge).headers["location"])


def test_token_failure_toggles(server: OAuthServer, http: httpx.Client) -> None:
    token = _full_flow(http, server)

    server.fail_next_token_request = True
    failed = _refresh(http, server, token["refresh_token"])
    assert failed.status_code == 500
    assert SECRET_BODY_SENTINEL in failed.text
    # One-shot, and the failed attempt did not consume the refresh token.
    assert _refresh(http, server, token["refresh_token"]).status_code == 200

    server.invalid_grant_on_refresh = True
    token = _full_flow(http, server)  # the code grant is unaffected
    rejected = _refresh(http, server, token["refresh_token"])
    assert rejected.status_code == 400
    assert rejected.json() == {"error": "invalid_grant"}
    assert server.refresh_count == 3


def test_lifetime_and_direct_issue(server: OAuthServer, http: httpx.Client) -> None:
    server.access_token_lifetime = 0
    token = _full_flow(http, server)
    assert token["expires_in"] == 0
    assert not server.validate_access_token(token["access_token"])

    direct = server.issue_token_directly("other-user", lifetime=120, scope="write")
    assert direct["expires_in"] == 120
    assert direct["scope"] == "write"
    assert server.validate_access_token(direct["access_token"])
    refreshed = _refresh(http, server, direct["refresh_token"])
    assert refreshed.status_code == 200
    assert server.expire_access_tokens("other-user") == 2
    assert not server.validate_access_token(refreshed.json()["access_token"])


def test_metadata_and_lifecycle(http: httpx.Client) -> None:
    srv = OAuthServer()
    with srv:
        metadata = http.get(srv.metadata_url).json()
        assert metadata["token_endpoint"] == srv.token_url
        assert metadata["code_challenge_methods_supported"] == ["S256"]
        base_url = srv.base_url
    with pytest.raises(RuntimeError):
        _ = srv.base_url
    with pytest.raises(httpx.ConnectError):
        http.get(base_url + "/authorize")
    srv.stop()  # idempotent


@pytest.mark.asyncio
async def test_concurrent_refresh_with_delay_under_async_with() -> None:
    async with OAuthServer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as srv:
        token = srv.issue_token_directly("user-1")
        srv.token_delay = 0.3
        data = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
        async with httpx.AsyncClient(timeout=10) as client:
            responses = await asyncio.gather(
                *(client.post(srv.token_url, data=data, auth=(CLIENT_ID, CLIENT_SECRET)) for _ in range(3))
            )
        # The requests overlapped in the delay, yet rotation lets exactly one win.
        assert sorted(r.status_code for r in responses) == [200, 400, 400]
        assert srv.refresh_count == 3


@pytest.mark.asyncio
async def test_token_requests_can_be_held_in_flight() -> None:
    async with OAuthServer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as srv:
        token = srv.issue_token_directly("user-1")
        data = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
        async with httpx.AsyncClient(timeout=10) as client:
            revoke = {"token": token["access_token"], "token_type_hint": "access_token"}
            with srv.holding_requests():
                refreshing = asyncio.create_task(client.post(srv.token_url, data=data, auth=(CLIENT_ID, CLIENT_SECRET)))
                revoking = asyncio.create_task(
                    client.post(srv.revocation_url, data=revoke, auth=(CLIENT_ID, CLIENT_SECRET))
                )
                await srv.wait_for_requests(token=1, revocation=1)
                # Recorded but not answered; the other endpoints still are.
                metadata = await client.get(srv.metadata_url)
                assert metadata.status_code == 200
                await asyncio.sleep(0.1)
                assert not refreshing.done()
                assert not revoking.done()
            assert (await refreshing).status_code == 200
            assert (await revoking).status_code == 200
        assert srv.refresh_count == 1
        assert srv.revoked == [(token["access_token"], "access_token")]
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await srv.wait_for_requests(token=2)
