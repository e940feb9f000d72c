"""The provider's endpoints, one error case per row: authorize, token, register; metadata, CORS,
the switch, and the gateway's challenge."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from devplane.sdk.client import Client
from devplane.sdk.oauth2 import UpdateOAuth2ProviderSettingsRequest
from tests.live import LiveServer, live_server
from tests.oauth2.conftest import REDIRECT, authorize_params, exchange, get_code, register_client, token_request


async def test_metadata_documents(live: LiveServer, admin: Client) -> None:
    async with httpx2.AsyncClient(base_url=live.url) as http:
        meta = (await http.get("/.well-known/oauth-authorization-server")).json()
        assert meta["issuer"] == live.url
        assert meta["code_challenge_methods_supported"] == ["S256"]
        assert meta["token_endpoint_auth_methods_supported"] == ["none", "client_secret_basic", "client_secret_post"]
        assert meta["authorization_response_iss_parameter_supported"] is True
        assert meta["registration_endpoint"] == f"{live.url}/oauth2/register"
        for path in (
            "/.well-known/oauth-protected-resource/api/experimental/mcp/gateway",
            "/.well-known/oauth-protected-resource",
        ):
            prm = await http.get(path)
            assert prm.json()["resource"] == live.gateway
            assert prm.json()["authorization_servers"] == [live.url]
            assert prm.headers["access-control-allow-origin"] == "*"
        await admin.put_oauth2_provider_settings(UpdateOAuth2ProviderSettingsRequest(dynamic_client_registration=False))
        meta = (await http.get("/.well-known/oauth-authorization-server")).json()
        assert "registration_endpoint" not in meta
        refused = await http.post("/oauth2/register", json={"redirect_uris": [REDIRECT]})
        assert refused.status_code == 403


async def test_gateway_challenge_and_cors(live: LiveServer, admin: Client) -> None:
    async with httpx2.AsyncClient() as http:
        resp = await http.post(live.gateway, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert resp.status_code == 401
        challenge = resp.headers["www-authenticate"]
        assert (
            f'resource_metadata="{live.url}/.well-known/oauth-protected-resource/api/experimental/mcp/gateway"'
            in challenge
        )
        assert "error=" not in challenge
        assert "WWW-Authenticate" in resp.headers["access-control-expose-headers"]
        bad = await http.post(
            live.gateway, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Authorization": "Bearer nope"}
        )
        assert bad.status_code == 401
        assert 'error="invalid_token"' in bad.headers["www-authenticate"]
        preflight = await http.options(
            live.gateway,
            headers={"Origin": "http://localhost:6274", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
        assert "Authorization" in preflight.headers["access-control-allow-headers"]
        token_preflight = await http.options(f"{live.url}/oauth2/token")
        assert token_preflight.status_code == 204
        token_error = await http.post(f"{live.url}/oauth2/token", data={"grant_type": "authorization_code"})
        assert token_error.status_code == 401
        assert token_error.json()["error"] == "invalid_client"
        assert token_error.headers["access-control-allow-origin"] == "*"
        assert token_error.headers["cache-control"] == "no-store"
        page = await http.get(f"{live.url}/oauth2/authorize")
        assert "access-control-allow-origin" not in page.headers


async def test_switched_off_everything_is_404(settings: object) -> None:
    from devplane.config import Settings

    assert isinstance(settings, Settings)
    with live_server(settings) as server:
        async with httpx2.AsyncClient(base_url=server.url) as http:
            for path in (
                "/.well-known/oauth-authorization-server",
                "/.well-known/oauth-protected-resource",
                "/oauth2/authorize",
            ):
                assert (await http.get(path)).status_code == 404, path
            assert (await http.post("/oauth2/token", data={})).status_code == 404
            resp = await http.post(server.gateway, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert resp.headers["www-authenticate"] == 'Bearer realm="devplane"'


async def test_signed_out_user_is_sent_to_login(live: LiveServer, admin: Client) -> None:
    client_id = str((await register_client(live))["client_id"])
    async with httpx2.AsyncClient(base_url=live.url) as http:
        resp = await http.get("/oauth2/authorize", params=authorize_params(client_id))
    assert resp.status_code == 302
    location = resp.headers["location"]
    assert location.startswith("/login?next=")
    assert parse_qs(urlsplit(location).query)["next"][0].startswith("/oauth2/authorize?")


LOCAL_ERRORS = [
    ("unknown client", {"client_id": "00000000-0000-0000-0000-000000000000"}),
    ("malformed client", {"client_id": "x"}),
    ("unregistered redirect", {"redirect_uri": "https://evil.example/cb"}),
    ("other loopback path", {"redirect_uri": "http://127.0.0.1:9/other"}),
    ("javascript redirect", {"redirect_uri": "javascript:alert(1)"}),
]


@pytest.mark.parametrize(("case", "overrides"), LOCAL_ERRORS, ids=[c for c, _ in LOCAL_ERRORS])
async def test_authorize_errors_before_the_redirect_is_known_stay_local(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient, case: str, overrides: dict[str, str]
) -> None:
    client_id = str((await register_client(live))["client_id"])
    resp = await browser.get("/oauth2/authorize", params=authorize_params(client_id, **overrides))
    assert resp.status_code == 400, case
    assert resp.headers["content-type"].startswith("text/html")
    assert "location" not in resp.headers


REDIRECT_ERRORS = [
    ("response type", {"response_type": "token"}, "unsupported_response_type"),
    ("no PKCE", {"code_challenge": None}, "invalid_request"),
    ("plain PKCE", {"code_challenge_method": "plain"}, "invalid_request"),
    ("missing PKCE method", {"code_challenge_method": None}, "invalid_request"),
    ("short challenge", {"code_challenge": "abc"}, "invalid_request"),
    ("unknown scope", {"scope": "admin"}, "invalid_scope"),
    ("other resource", {"resource": "https://elsewhere.example/mcp"}, "invalid_target"),
    ("other path", {"resource": "http://127.0.0.1/api/v2/users"}, "invalid_target"),
]


@pytest.mark.parametrize(("case", "overrides", "error"), REDIRECT_ERRORS, ids=[c for c, _, _ in REDIRECT_ERRORS])
async def test_authorize_errors_after_the_redirect_is_known_go_back_with_state_and_iss(
    live: LiveServer,
    admin: Client,
    browser: httpx2.AsyncClient,
    case: str,
    overrides: dict[str, str | None],
    error: str,
) -> None:
    client_id = str((await register_client(live))["client_id"])
    resp = await browser.get("/oauth2/authorize", params=authorize_params(client_id, **overrides))
    assert resp.status_code == 302, (case, resp.text)
    location = resp.headers["location"]
    assert location.startswith(REDIRECT)
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == [error]
    assert query["state"] == ["st-1"]
    assert query["iss"] == [live.url]


@pytest.mark.parametrize(
    "resource",
    [None, "{gw}", "{gw}/", "{gw}?servers=demo", "HTTP://127.0.0.1:{port}/api/experimental/mcp/gateway"],
    ids=["missing", "exact", "trailing slash", "servers query", "upper-case scheme"],
)
async def test_resource_spellings_all_name_the_gateway(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient, resource: str | None
) -> None:
    port = urlsplit(live.url).port
    value = resource.format(gw=live.gateway, port=port) if resource else None
    client_id = str((await register_client(live))["client_id"])
    code = await get_code(browser, client_id, resource=value)
    resp = await exchange(live, client_id, code, **({"resource": value} if value else {}))
    assert resp.status_code == 200, resp.text


async def test_consent_page_is_locked_down(live: LiveServer, admin: Client, browser: httpx2.AsyncClient) -> None:
    client_id = str((await register_client(live, client_name="<b>Evil</b>"))["client_id"])
    page = await browser.get("/oauth2/authorize", params=authorize_params(client_id))
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<b>Evil</b>" not in page.text
    assert "&lt;b&gt;Evil&lt;/b&gt;" in page.text
    assert "<script" not in page.text
    assert "style" not in page.text
    # Allow without the CSRF token, or with another, is refused.
    params = authorize_params(client_id)
    forged = await browser.post("/oauth2/authorize", params=params, data={"decision": "allow"}, follow_redirects=False)
    assert forged.status_code == 403
    denied = await browser.post(
        "/oauth2/authorize", params=params, data={"decision": "allow", "csrf_token": "0" * 64}, follow_redirects=False
    )
    assert denied.status_code == 403


TOKEN_ERRORS = [
    ("wrong verifier", {"code_verifier": "w" * 50}, 400, "invalid_grant"),
    ("wrong redirect", {"redirect_uri": "http://127.0.0.1:9/other"}, 400, "invalid_grant"),
    ("other resource", {"resource": "https://elsewhere.example/mcp"}, 400, "invalid_target"),
    ("grant type", {"grant_type": "password"}, 400, "unsupported_grant_type"),
    ("unknown client", {"client_id": "00000000-0000-0000-0000-000000000000"}, 401, "invalid_client"),
    ("garbage code", {"code": "devplane_abc_def"}, 400, "invalid_grant"),
]


@pytest.mark.parametrize(("case", "extra", "status", "error"), TOKEN_ERRORS, ids=[c for c, *_ in TOKEN_ERRORS])
async def test_token_errors(
    live: LiveServer,
    admin: Client,
    browser: httpx2.AsyncClient,
    case: str,
    extra: dict[str, str],
    status: int,
    error: str,
) -> None:
    client_id = str((await register_client(live))["client_id"])
    code = await get_code(browser, client_id)
    resp = await exchange(live, client_id, code, **extra)
    assert resp.status_code == status, (case, resp.text)
    assert resp.json()["error"] == error


async def test_confidential_client_must_authenticate(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient
) -> None:
    registration = await register_client(live, token_endpoint_auth_method="client_secret_basic")
    client_id, secret = str(registration["client_id"]), str(registration["client_secret"])
    code = await get_code(browser, client_id)
    missing = await exchange(live, client_id, code)
    assert missing.status_code == 401
    assert missing.json()["error"] == "invalid_client"
    wrong = await exchange(live, client_id, code, client_secret="devplane_" + "a" * 10 + "_" + "b" * 40)
    assert wrong.status_code == 401
    code = await get_code(browser, client_id)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": "v" * 43 + "erifier-of-a-decent-length",
        "redirect_uri": REDIRECT,
    }
    ok = await token_request(live, data, auth=httpx2.BasicAuth(client_id, secret))
    assert ok.status_code == 200, ok.text


DCR_ERRORS = [
    ("no redirect uris", {"redirect_uris": []}, "invalid_redirect_uri"),
    ("javascript", {"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
    ("data", {"redirect_uris": ["data:text/html,hi"]}, "invalid_redirect_uri"),
    ("fragment", {"redirect_uris": ["https://app.example/cb#frag"]}, "invalid_redirect_uri"),
    ("plain http", {"redirect_uris": ["http://app.example/cb"]}, "invalid_redirect_uri"),
    ("auth method", {"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
    ("no code grant", {"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
]


@pytest.mark.parametrize(("case", "body", "error"), DCR_ERRORS, ids=[c for c, *_ in DCR_ERRORS])
async def test_registration_errors(
    live: LiveServer, admin: Client, case: str, body: dict[str, object], error: str
) -> None:
    payload = {"client_name": "x", "redirect_uris": [REDIRECT], **body}
    async with httpx2.AsyncClient(base_url=live.url) as http:
        resp = await http.post("/oauth2/register", json=payload)
    assert resp.status_code == 400, (case, resp.text)
    assert resp.json()["error"] == error


async def test_registration_accepts_real_clients_metadata_and_manages_itself(live: LiveServer, admin: Client) -> None:
    cursor = {
        "client_name": "Cursor",
        "redirect_uris": [
            "cursor://anysphere.cursor-mcp/oauth/callback",
            "https://www.cursor.com/agents/mcp/oauth/callback",
            "http://localhost:8787/callback",
        ],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
        "software_id": "cursor",
        "client_name#ja": "カーソル",
        "logo_uri": "https://cursor.com/logo.png",
    }
    registration = await register_client(live, **cursor)
    assert "client_secret" not in registration
    uri, token = str(registration["registration_client_uri"]), str(registration["registration_access_token"])
    async with httpx2.AsyncClient() as http:
        auth = {"Authorization": f"Bearer {token}"}
        assert (await http.get(uri, headers=auth)).json()["client_name"] == "Cursor"
        assert (await http.get(uri, headers={"Authorization": "Bearer devplane_x_y"})).status_code == 401
        updated = await http.put(uri, headers=auth, json={**cursor, "client_name": "Cursor 2"})
        assert updated.json()["client_name"] == "Cursor 2"
        assert (await http.delete(uri, headers=auth)).status_code == 204
        assert (await http.get(uri, headers=auth)).status_code == 401


async def test_oauth_endpoints_are_rate_limited(live: LiveServer, admin: Client) -> None:
    async with httpx2.AsyncClient(base_url=live.url) as http:
        statuses = []
        for _ in range(70):
            resp = await http.post("/oauth2/revoke", data={"client_id": "x", "token": "y"})
            statuses.append(resp.status_code)
            if resp.status_code == 429:
                assert int(resp.headers["retry-after"]) > 0
                break
    assert statuses[-1] == 429
