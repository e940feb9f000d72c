"""Builders and raw-HTTP helpers shared by the MCP config and chat API tests."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

import httpx

from devplane.api.state import AppState
from devplane.db.mcp_rows import MCPServerConfigRow, MCPServerUserTokenRow
from devplane.sdk.client import Client
from devplane.sdk.mcp import CreateMCPServerConfigRequest

SERVERS = "/api/experimental/mcp/servers"
CHATS = "/api/experimental/chats"

# Sentinels: if any of these shows up in a response, a log line or the database file, a secret leaked.
CLIENT_SECRET = "SENTINEL-oauth2-client-secret-7f3a"
API_KEY = "SENTINEL-api-key-value-91bc"
HEADER_VALUE = "SENTINEL-custom-header-value-5d20"
ACCESS_TOKEN = "SENTINEL-access-token-c0de"
REFRESH_TOKEN = "SENTINEL-refresh-token-beef"
SENTINELS = (CLIENT_SECRET, API_KEY, HEADER_VALUE, ACCESS_TOKEN, REFRESH_TOKEN)


def body(**overrides: Any) -> dict[str, Any]:
    """A valid create body (auth none, enabled, default_on) with `overrides` applied."""
    slug = overrides.pop("slug") if "slug" in overrides else f"srv-{secrets.token_hex(4)}"
    data: dict[str, Any] = {
        "display_name": f"Server {slug}",
        "slug": slug,
        "transport": "streamable_http",
        "url": "https://mcp.example.com/mcp",
        "auth_type": "none",
        "availability": "default_on",
        "enabled": True,
    }
    data.update(overrides)
    return data


def oauth2_body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "auth_type": "oauth2",
        "oauth2_client_id": "client-123",
        "oauth2_client_secret": CLIENT_SECRET,
        "oauth2_auth_url": "https://idp.example.com/authorize",
        "oauth2_token_url": "https://idp.example.com/token",
        "oauth2_revocation_url": "https://idp.example.com/revoke",
        "oauth2_scopes": "read write",
    }
    return body(**(base | overrides))


def api_key_body(**overrides: Any) -> dict[str, Any]:
    return body(**({"auth_type": "api_key", "api_key_header": "X-Api-Key", "api_key_value": API_KEY} | overrides))


def headers_body(**overrides: Any) -> dict[str, Any]:
    base = {"auth_type": "custom_headers", "custom_headers": {"X-Team": HEADER_VALUE, "X-Env": HEADER_VALUE + "-2"}}
    return body(**(base | overrides))


def request(data: dict[str, Any]) -> CreateMCPServerConfigRequest:
    return CreateMCPServerConfigRequest.model_validate(data)


async def send(client: Client, method: str, path: str, json: Any = None, **kw: Any) -> httpx.Response:
    """A raw request with the client's credentials, for bodies the SDK types would refuse."""
    return await client.http.request(method, path, json=json, headers=client.headers(), **kw)


async def insert_token(
    state: AppState,
    config_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    expires_in: dt.timedelta | None = None,
    refresh_token: str = REFRESH_TOKEN,
    failure: str = "",
) -> MCPServerUserTokenRow:
    """Store a token for (config, user) through the full store stack, as the OAuth callback would."""
    now = dt.datetime.now(dt.UTC)
    row = MCPServerUserTokenRow(
        id=uuid.uuid4(),
        mcp_server_config_id=config_id,
        user_id=user_id,
        token_type="Bearer",
        expiry=None if expires_in is None else now + expires_in,
        refresh_failure_reason="",
        created_at=now,
        updated_at=now,
        access_token=ACCESS_TOKEN,
        refresh_token=refresh_token,
    )
    async with state.db.transaction() as tx:
        store = tx.system("tests store an MCP OAuth2 token")
        stored = await store.upsert_mcp_server_user_token(row)
        if failure:
            await store.mark_mcp_server_user_token_refresh_failure(config_id, user_id, failure)
    return stored


async def tokens_of(state: AppState, user_id: uuid.UUID) -> list[MCPServerUserTokenRow]:
    async with state.db.session() as tx:
        return await tx.system("tests read MCP OAuth2 tokens").list_mcp_server_user_tokens_by_user_id(user_id)


async def stored_config(state: AppState, config_id: uuid.UUID) -> MCPServerConfigRow:
    """The config as the crypt store decrypts it: what the server would use."""
    async with state.db.session() as tx:
        return await tx.system("tests read an MCP server config").get_mcp_server_config_by_id(config_id)
