"""The pure OAuth2 client rules (services/mcp_oauth_protocol.py) and the callback pages."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from devplane.api import oauth_pages
from devplane.db.mcp_rows import MCPServerConfigRow
from devplane.errors import BadRequest
from devplane.services import mcp_oauth_protocol as p
from devplane.services.mcp_oauth import require_oauth2
from devplane.services.mcp_oauth_refresh import SingleFlight

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_state_has_at_least_128_random_bits_and_is_stored_hashed() -> None:
    state = p.new_state()
    assert len(base64.urlsafe_b64decode(state + "=" * (-len(state) % 4))) * 8 >= 128
    assert p.new_state() != state
    assert p.hash_state(state) == hashlib.sha256(state.encode()).hexdigest()


def test_pkce_s256_matches_rfc_7636_appendix_b() -> None:
    assert (
        p.code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    verifier = p.new_code_verifier()
    assert 43 <= len(verifier) <= 128


def test_authorize_url_keeps_the_configured_query_and_overrides_our_keys() -> None:
    url = p.authorize_url(
        "https://idp.example/authorize?tenant=acme&state=evil",
        client_id="cid",
        redirect="https://dp.example/cb",
        scopes=" read   write ",
        state="st",
        challenge="ch",
        resource="https://mcp.example/mcp",
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "idp.example", "/authorize")
    params = parse_qs(parts.query)
    assert params["tenant"] == ["acme"]
    assert params["state"] == ["st"]
    assert params["scope"] == ["read write"]
    assert params["code_challenge_method"] == ["S256"]
    assert params["resource"] == ["https://mcp.example/mcp"]
    assert "%20" in parts.query  # space-separated scope, percent-encoded
    no_scope = p.authorize_url(
        "https://idp.example/a", client_id="c", redirect="r", scopes="", state="s", challenge="c", resource="x"
    )
    assert "scope" not in parse_qs(urlsplit(no_scope).query)


def test_redirect_uri_and_origin_come_from_the_access_url() -> None:
    config_id = uuid.uuid4()
    assert (
        p.redirect_uri("https://dp.example/", config_id)
        == f"https://dp.example/api/experimental/mcp/servers/{config_id}/oauth2/callback"
    )
    assert p.origin_of("https://dp.example:8443/sub/path") == "https://dp.example:8443"


def test_client_auth_basic_form_encodes_and_public_clients_send_their_id() -> None:
    auth = p.client_auth("my id", "s:e/c")
    assert auth.body == {}
    encoded = auth.headers["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(encoded).decode() == "my%20id:s%3Ae%2Fc"
    assert "s:e/c" not in repr(auth)
    public = p.client_auth("cid", "")
    assert public.headers == {}
    assert public.body == {"client_id": "cid"}


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://idp.example/revoke", True),
        ("http://127.0.0.1:8080/revoke", True),
        ("http://[::1]/revoke", True),
        ("http://localhost/revoke", True),
        ("http://idp.example/revoke", False),
        ("http://10.0.0.1/revoke", False),
        ("ftp://idp.example/revoke", False),
        ("https:///nohost", False),
    ],
)
def test_revocation_only_over_https_or_loopback_http(url: str, *, allowed: bool) -> None:
    assert p.revocation_url_allowed(url) is allowed


@pytest.mark.parametrize(
    ("given", "stored"), [("bearer", "Bearer"), ("BEARER", "Bearer"), ("", "Bearer"), ("DPoP", "DPoP")]
)
def test_token_type_normalization(given: str, stored: str) -> None:
    assert p.normalize_token_type(given) == stored


def test_token_response_parsing() -> None:
    tokens = p.parse_token_set({"access_token": "a", "token_type": "bearer", "expires_in": "120"}, NOW)
    assert (tokens.access_token, tokens.refresh_token, tokens.token_type) == ("a", "", "Bearer")
    assert tokens.expiry == NOW + dt.timedelta(seconds=120)
    assert p.parse_token_set({"access_token": "a", "expires_in": True}, NOW).expiry is None
    assert p.parse_token_set({"access_token": "a", "expires_in": -5}, NOW).expiry is None
    with pytest.raises(p.TokenResponseError):
        p.parse_token_set({"token_type": "bearer"}, NOW)
    with pytest.raises(p.TokenResponseError):
        p.parse_body(b"<html>oops</html>", "text/html")
    with pytest.raises(p.TokenResponseError):
        p.parse_body(b"[1]", "application/json")
    assert p.parse_body(b"access_token=a&token_type=bearer", "application/x-www-form-urlencoded") == {
        "access_token": "a",
        "token_type": "bearer",
    }
    assert p.error_code({"error": "invalid_grant<script>"}) == "invalid_grantscript"


def _config(**changes: object) -> MCPServerConfigRow:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "display_name": "X",
        "slug": "x",
        "description": "",
        "icon_url": "",
        "transport": "streamable_http",
        "url": "https://mcp.example/mcp",
        "auth_type": "oauth2",
        "oauth2_client_id": "cid",
        "oauth2_auth_url": "https://idp.example/a",
        "oauth2_token_url": "https://idp.example/t",
        "oauth2_revocation_url": "",
        "oauth2_scopes": "",
        "api_key_header": "",
        "custom_header_names": (),
        "tool_allow_list": (),
        "tool_deny_list": (),
        "availability": "default_off",
        "enabled": True,
        "created_by": None,
        "updated_by": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(changes)
    return MCPServerConfigRow(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"enabled": False}, "MCP server is not enabled."),
        ({"auth_type": "api_key"}, "MCP server does not use OAuth2 authentication."),
        ({"oauth2_auth_url": ""}, "MCP server OAuth2 authorization URL is not configured."),
        ({"oauth2_token_url": ""}, "MCP server OAuth2 token URL is not configured."),
    ],
)
def test_unusable_configs_are_refused_in_coders_order(changes: dict[str, object], message: str) -> None:
    with pytest.raises(BadRequest) as info:
        require_oauth2(_config(**changes))
    assert info.value.message == message
    require_oauth2(_config())


def test_pages_escape_everything_and_hash_their_one_script() -> None:
    page = oauth_pages.success_page(uuid.uuid4(), "<img src=x onerror=alert(1)>", "https://dp.example</script>")
    html = bytes(page.body).decode()
    assert "<img" not in html
    assert '</script>"' not in html
    assert "\\u003c/script\\u003e" in html
    csp = page.headers["content-security-policy"]
    assert "script-src 'sha256-" in csp
    assert "unsafe-inline" not in csp
    error = oauth_pages.error_page(BadRequest("Bad <b>", detail='"quoted" <script>x</script>'))
    text = bytes(error.body).decode()
    assert error.status_code == 400
    assert "<script>" not in text
    assert "&quot;quoted&quot; &lt;script&gt;" in text
    assert "script-src" not in error.headers["content-security-policy"]


async def test_single_flight_shares_one_run_and_its_failure() -> None:
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.05)
        return runs

    flights = SingleFlight()
    assert await asyncio.gather(*(flights.do("k", work) for _ in range(5))) == [1] * 5
    assert await flights.do("k", work) == 2  # a finished flight is not reused

    async def boom() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("boom")

    results = await asyncio.gather(*(flights.do("e", boom) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
