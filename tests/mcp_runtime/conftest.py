"""MCP runtime tests: a real devplane (uvicorn on 127.0.0.1) and real upstream MCP servers.

The devplane server runs in its own thread and event loop, like a deployment; tests talk to it
over HTTP with the devplane SDK and the official `mcp` SDK client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.sdk.mcp import CreateMCPServerConfigRequest, MCPServerConfig
from devplane.sdk.users import CreateFirstUserRequest, LoginRequest
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME
from tests.fixtures.oauth_server import OAuthServer
from tests.live import LiveServer, live_server
from tests.mcp_runtime.helpers import Farm

Live = LiveServer


def run_live(settings: Settings) -> Iterator[Live]:
    with live_server(settings) as server:
        yield server


@pytest.fixture
def mcp_settings(settings: Settings) -> Settings:
    """Short timeouts so failure tests finish fast; each test may override further."""
    return settings.model_copy(
        update={"mcp_connect_timeout_seconds": 3.0, "mcp_call_timeout_seconds": 5.0, "token_cache_seconds": 1.0}
    )


@pytest.fixture
def farm() -> Iterator[Farm]:
    """Upstream servers for a test; `live` depends on it, so they stop after devplane does."""
    servers = Farm()
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture
def live(mcp_settings: Settings, farm: Farm) -> Iterator[Live]:
    yield from run_live(mcp_settings)


@pytest.fixture
async def oauth(mcp_settings: Settings) -> AsyncIterator[OAuthServer]:
    """A real OAuth2 authorization server whose redirect URIs point back at devplane."""
    prefix = f"{mcp_settings.effective_access_url}/api/experimental/mcp/servers/"
    async with OAuthServer(redirect_uri_prefixes=prefix) as server:
        yield server


@pytest.fixture
async def admin(live: Live) -> AsyncIterator[Client]:
    async with Client(live.url) as client:
        await client.create_first_user(
            CreateFirstUserRequest(email=OWNER_EMAIL, username=OWNER_USERNAME, password=OWNER_PASSWORD)
        )
        await client.login(LoginRequest(email=OWNER_EMAIL, password=OWNER_PASSWORD))
        yield client


async def register(admin: Client, slug: str, url: str, **fields: Any) -> MCPServerConfig:
    body: dict[str, Any] = {
        "display_name": slug.title(),
        "slug": slug,
        "transport": "streamable_http",
        "url": url,
        "auth_type": "none",
        "availability": "default_on",
        "enabled": True,
    }
    body.update(fields)
    return await admin.create_mcp_server(CreateMCPServerConfigRequest.model_validate(body))
