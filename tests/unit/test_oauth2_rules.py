"""Pure rules of the OAuth2 provider: resource canonicalisation, redirect URIs, secret format, PKCE."""

from __future__ import annotations

import base64
import hashlib

import pytest

from devplane.crypto import oauth2_secrets
from devplane.services.oauth2_common import OAuth2Error, check_scope
from devplane.services.oauth2_grants import pkce_matches
from devplane.services.oauth2_urls import canonical_resource, redirect_uri_matches, redirect_uri_problem

GW = "https://dev.example.com/api/experimental/mcp/gateway"


@pytest.mark.parametrize(
    "value",
    [
        GW,
        GW + "/",
        GW + "?servers=a,b",
        GW + "?chat_id=x#frag",
        "HTTPS://DEV.EXAMPLE.COM/api/experimental/mcp/gateway",
        "https://dev.example.com:443/api/experimental/mcp/gateway",
        " " + GW,
    ],
)
def test_resource_spellings_canonicalise_to_the_gateway(value: str) -> None:
    assert canonical_resource(value) == GW


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "https://dev.example.com:8443/api/experimental/mcp/gateway",
            "https://dev.example.com:8443/api/experimental/mcp/gateway",
        ),
        ("http://127.0.0.1:80/", "http://127.0.0.1"),
        (
            "https://dev.example.com/API/experimental/mcp/gateway",
            "https://dev.example.com/API/experimental/mcp/gateway",
        ),
        ("ftp://dev.example.com/x", None),
        ("not a url", None),
        ("https://dev.example.com:99999/x", None),
        ("/relative/path", None),
    ],
)
def test_resource_canonical_form(value: str, expected: str | None) -> None:
    assert canonical_resource(value) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "https://claude.ai/api/mcp/auth_callback",
        "http://127.0.0.1:33418/",
        "http://localhost/callback",
        "http://[::1]:8080/cb",
        "cursor://anysphere.cursor-mcp/oauth/callback",
        "vscode://vscode.github-authentication/did-authenticate",
        "com.example.app:/oauth2redirect",
    ],
)
def test_redirect_uris_allowed(uri: str) -> None:
    assert redirect_uri_problem(uri) is None


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("javascript:alert(1)", "javascript"),
        ("JavaScript:alert(1)", "javascript"),
        ("data:text/html,x", "data"),
        ("https://app.example/cb#x", "fragment"),
        ("https://app.example/cb#", "fragment"),
        ("http://app.example/cb", "https"),
        ("/relative", "absolute"),
        ("https:///nohost", "host"),
        ("http://127.0.0.1:99999/", "valid"),
    ],
)
def test_redirect_uris_refused(uri: str, why: str) -> None:
    problem = redirect_uri_problem(uri)
    assert problem is not None
    assert why in problem


@pytest.mark.parametrize(
    ("requested", "registered", "ok"),
    [
        ("https://a.example/cb", "https://a.example/cb", True),
        ("https://a.example/cb/", "https://a.example/cb", False),
        ("https://a.example:444/cb", "https://a.example/cb", False),
        ("http://127.0.0.1:5555/cb", "http://127.0.0.1/cb", True),
        ("http://127.0.0.1:5555/cb", "http://127.0.0.1:33418/cb", True),
        ("http://localhost:5555/cb", "http://127.0.0.1/cb", False),
        ("http://127.0.0.1:5555/other", "http://127.0.0.1/cb", False),
        ("http://127.0.0.1:5555/cb?x=1", "http://127.0.0.1/cb", False),
        ("cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/callback", True),
        ("cursor://evil/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/callback", False),
    ],
)
def test_redirect_uri_matching(requested: str, registered: str, ok: bool) -> None:
    assert redirect_uri_matches(requested, registered) is ok


def test_secret_format_and_parse() -> None:
    secret = oauth2_secrets.generate()
    formatted = secret.formatted
    prefix, part = formatted.split("_")[1:]
    assert formatted.startswith("devplane_")
    assert len(prefix) == 10
    assert len(part) == 40
    assert part.isalnum()
    assert part.isascii()
    parsed = oauth2_secrets.parse(formatted)
    assert parsed == secret
    assert oauth2_secrets.verify(parsed.secret, secret.hashed)
    assert not oauth2_secrets.verify(oauth2_secrets.generate().secret, secret.hashed)
    assert secret.secret not in repr(secret)
    assert oauth2_secrets.generate().formatted != formatted


@pytest.mark.parametrize(
    "value",
    [
        "",
        "devplane_abc_def",
        "other_" + "a" * 10 + "_" + "b" * 40,
        "devplane_" + "a" * 10 + "_" + "b" * 39,
        "devplane_" + "a" * 10 + "_" + "b" * 39 + "!",
    ],
)
def test_malformed_secrets(value: str) -> None:
    assert oauth2_secrets.parse(value) is None


def test_pkce_s256() -> None:
    verifier = "a" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert pkce_matches(verifier, challenge)
    assert not pkce_matches("b" * 50, challenge)
    assert not pkce_matches("a" * 42, challenge)  # too short for RFC 7636


def test_scopes() -> None:
    assert check_scope(None) == "mcp"
    assert check_scope("mcp offline_access") == "mcp"
    assert check_scope("offline_access") == "mcp"
    with pytest.raises(OAuth2Error) as err:
        check_scope("mcp admin")
    assert err.value.error == "invalid_scope"
