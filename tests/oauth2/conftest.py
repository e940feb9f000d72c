"""OAuth2 provider tests: a live devplane with the provider on, a signed-in "browser" that
drives the consent page headlessly, and the `mcp` SDK's OAuthClientProvider as the client.

The live server listens on a port chosen up front, because the issuer (the access URL) must be
the exact URL clients reach it at.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.sdk.oauth2 import UpdateOAuth2ProviderSettingsRequest
from devplane.sdk.users import CreateFirstUserRequest, LoginRequest
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.live import LiveServer, live_server
from tests.mcp_runtime.conftest import register

REDIRECT = "http://127.0.0.1:9/callback"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def provider_settings(settings: Settings) -> Settings:
    port = free_port()
    return settings.model_copy(
        update={
            "http_address": f"127.0.0.1:{port}",
            "access_url": f"http://127.0.0.1:{port}",
            "oauth2_provider_enable": True,
            "token_cache_seconds": 0.0,
        }
    )


@pytest.fixture
def upstream() -> Iterator[UpstreamMCPServer]:
    with UpstreamMCPServer() as server:
        yield server


@pytest.fixture
def live(provider_settings: Settings, upstream: UpstreamMCPServer) -> Iterator[LiveServer]:
    with live_server(provider_settings, port=provider_settings.port) as server:
        yield server


@pytest.fixture
async def admin(live: LiveServer, upstream: UpstreamMCPServer) -> AsyncIterator[Client]:
    """The owner, signed in, with one upstream MCP server ("demo") and DCR switched on."""
    async with Client(live.url) as client:
        await client.create_first_user(
            CreateFirstUserRequest(email=OWNER_EMAIL, username=OWNER_USERNAME, password=OWNER_PASSWORD)
        )
        await client.login(LoginRequest(email=OWNER_EMAIL, password=OWNER_PASSWORD))
        await register(client, "demo", upstream.url)
        await client.put_oauth2_provider_settings(UpdateOAuth2ProviderSettingsRequest(dynamic_client_registration=True))
        yield client


@pytest.fixture
async def browser(live: LiveServer, admin: Client) -> AsyncIterator[httpx2.AsyncClient]:
    """A browser signed in as the owner: the session cookie from POST /api/v2/users/login."""
    async with httpx2.AsyncClient(base_url=live.url) as http:
        resp = await http.post("/api/v2/users/login", json={"email": OWNER_EMAIL, "password": OWNER_PASSWORD})
        assert resp.status_code == 201, resp.text
        yield http


@dataclass
class Consent:
    """Drives devplane's consent page: GET it, check it, POST Allow with its CSRF token."""

    browser: httpx2.AsyncClient
    decision: str = "allow"
    result: AuthorizationCodeResult | None = None
    pages: list[str] = field(default_factory=list)
    authorize_urls: list[str] = field(default_factory=list)

    async def redirect(self, url: str) -> None:
        self.authorize_urls.append(url)
        page = await self.browser.get(url)
        assert page.status_code == 200, page.text
        self.pages.append(page.text)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, page.text
        answer = await self.browser.post(
            url, data={"csrf_token": match[1], "decision": self.decision}, follow_redirects=False
        )
        assert answer.status_code == 302, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        self.result = AuthorizationCodeResult(
            code=query.get("code", [""])[0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0]
        )

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


@dataclass
class MemStorage:
    tokens: OAuthToken | None = None
    client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def provider(
    server_url: str, consent: Consent, storage: MemStorage, *, auth_method: str = "none", name: str = "e2e"
) -> OAuthClientProvider:
    metadata = OAuthClientMetadata(
        client_name=name,
        redirect_uris=[AnyUrl(REDIRECT)],
        token_endpoint_auth_method=auth_method,
    )
    return OAuthClientProvider(
        server_url=server_url,
        client_metadata=metadata,
        storage=storage,
        redirect_handler=consent.redirect,
        callback_handler=consent.callback,
    )


# --- raw protocol helpers (for the error tables and the token-rotation tests) ----------------
VERIFIER = "v" * 43 + "erifier-of-a-decent-length"


def challenge(verifier: str = VERIFIER) -> str:
    import base64
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def register_client(live: LiveServer, **metadata: object) -> dict[str, object]:
    body = {"client_name": "raw", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", **metadata}
    async with httpx2.AsyncClient(base_url=live.url) as http:
        resp = await http.post("/oauth2/register", json=body)
    assert resp.status_code == 201, resp.text
    registration: dict[str, object] = resp.json()
    return registration


def authorize_params(client_id: str, /, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "code_challenge": challenge(),
        "code_challenge_method": "S256",
        "state": "st-1",
        "scope": "mcp",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


async def get_code(browser: httpx2.AsyncClient, client_id: str, **overrides: str | None) -> str:
    params = authorize_params(client_id, **overrides)
    page = await browser.get("/oauth2/authorize", params=params)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    answer = await browser.post(
        "/oauth2/authorize", params=params, data={"csrf_token": match[1], "decision": "allow"}, follow_redirects=False
    )
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == [params["state"]]
    return query["code"][0]


async def token_request(live: LiveServer, data: dict[str, str], **kw: object) -> httpx2.Response:
    async with httpx2.AsyncClient(base_url=live.url) as http:
        return await http.post("/oauth2/token", data=data, **kw)  # type: ignore[arg-type]  # test helper pass-through


async def exchange(live: LiveServer, client_id: str, code: str, /, **extra: str) -> httpx2.Response:
    data = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "code_verifier": VERIFIER,
        "redirect_uri": REDIRECT,
        **extra,
    }
    return await token_request(live, data)
