"""Helpers that drive the MCP OAuth2 flow like a browser: devplane's connect (307), the
loopback provider's /authorize (302 back to devplane), then devplane's callback."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import text

from devplane.api.state import AppState
from devplane.sdk.client import Client
from devplane.sdk.mcp import CreateMCPServerConfigRequest, MCPServerConfig
from tests.fixtures.oauth_server import OAuthServer

MCP_URL = "https://mcp.example.test/mcp"
CLIENT_ID = "devplane-test-client"
CLIENT_SECRET = "devplane-test-secret"


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def create_oauth2_config(
    owner: Client,
    oauth: OAuthServer,
    *,
    slug: str = "tracker",
    enabled: bool = True,
    client_secret: str | None = CLIENT_SECRET,
    revocation: bool = True,
    auth_url: str | None = None,
) -> MCPServerConfig:
    body = {
        "display_name": f"Tracker {slug}",
        "slug": slug,
        "transport": "streamable_http",
        "url": MCP_URL,
        "auth_type": "oauth2",
        "oauth2_client_id": oauth.client.client_id,
        "oauth2_client_secret": client_secret or "",
        "oauth2_auth_url": auth_url or oauth.authorize_url,
        "oauth2_token_url": oauth.token_url,
        "oauth2_revocation_url": oauth.revocation_url if revocation else "",
        "oauth2_scopes": "read  write",
        "availability": "default_off",
        "enabled": enabled,
    }
    return await owner.create_mcp_server(CreateMCPServerConfigRequest.model_validate(body))


async def start(client: Client, server_id: uuid.UUID | str, **headers: str) -> httpx.Response:
    """GET connect as the user; returns the 307 (not followed)."""
    url = client.mcp_oauth2_connect_url(server_id)
    return await client.http.get(path_and_query(url), headers={**client.headers(), **headers})


async def authorize(location: str) -> str:
    """Follow the 307 to the provider like a browser; returns the URL it redirects back to."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
        response = await browser.get(location)
    assert response.status_code == 302, response.text
    back: str = response.headers["location"]
    return back


async def callback(client: Client, url: str, **headers: str) -> httpx.Response:
    """The browser arriving back at devplane with the user's session."""
    return await client.http.get(path_and_query(url), headers={**client.headers(), **headers})


async def callback_url(client: Client, server_id: uuid.UUID | str) -> str:
    """connect + authorize: the callback URL with a fresh code and state, not yet used."""
    response = await start(client, server_id)
    assert response.status_code == 307, response.text
    return await authorize(response.headers["location"])


async def connect(client: Client, server_id: uuid.UUID | str) -> httpx.Response:
    """The whole flow; returns devplane's callback response."""
    return await callback(client, await callback_url(client, server_id))


async def raw_rows(state: AppState, table: str) -> list[str]:
    """Every row of `table` as text, straight from the database (below the crypt store)."""
    async with state.db.engine.connect() as conn:
        rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608 - fixed table names
    return [" ".join(str(v) for v in row) for row in rows]


async def _held_since(state: AppState, since: object) -> list[str]:
    """PostgreSQL: the last statement of each session on this database that sits idle in a
    transaction begun before `since` (a transaction held open, not one caught between two
    statements by a background reader)."""
    query = text(
        "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%' AND xact_start < :since AND pid <> pg_backend_pid()"
    )
    async with state.db.engine.connect() as conn:
        return [str(q) for q in (await conn.execute(query, {"since": since})).scalars()]


async def _clock(state: AppState) -> object:
    async with state.db.engine.connect() as conn:
        return (await conn.execute(text("SELECT clock_timestamp()"))).scalar_one()


async def assert_writes_proceed(owner: Client, oauth: OAuthServer, state: AppState, slug: str) -> None:
    """Call while devplane waits on the provider: another user's write goes through at once (on
    SQLite a writing transaction is the database's write lock), and on PostgreSQL no session
    holds a transaction open across the wait."""
    since = await _clock(state) if state.db.dialect == "postgresql" else None
    await asyncio.wait_for(create_oauth2_config(owner, oauth, slug=slug), timeout=5)
    if since is not None:
        held = await _held_since(state, since)
        assert held == [], f"transactions held open while the provider is called: {held}"
