"""MCP runtime tests: a real devplane (uvicorn on 127.0.0.1) and real upstream MCP servers.

The devplane server runs in its own thread and event loop, like a deployment; tests talk to it
over HTTP with the devplane SDK and the official `mcp` SDK client.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
import uvicorn

from devplane.api.app import create_app
from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.sdk.mcp import CreateMCPServerConfigRequest, MCPServerConfig
from devplane.sdk.users import CreateFirstUserRequest, LoginRequest
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME
from tests.fixtures.oauth_server import OAuthServer
from tests.mcp_runtime.helpers import Farm


@dataclass
class Live:
    url: str
    logs: io.StringIO
    server: uvicorn.Server

    @property
    def gateway(self) -> str:
        return f"{self.url}/api/experimental/mcp/gateway"


def run_live(settings: Settings) -> Iterator[Live]:
    logs = io.StringIO()
    previous = structlog.get_config()["logger_factory"]
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(logs))
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        lifespan="on",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="devplane-test-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail(f"devplane test server did not start; logs:\n{logs.getvalue()}")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Live(url=f"http://127.0.0.1:{port}", logs=logs, server=server)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        structlog.configure(logger_factory=previous)


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
