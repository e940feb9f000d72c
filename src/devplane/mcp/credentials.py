"""Upstream credentials per (config, user): what headers go to the MCP server, and a fingerprint.

Only the config's own credential goes upstream: never the user's devplane token or cookies.
An OAuth2 token goes only to the server it was issued for (the config it is stored under).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from devplane.db.mcp_rows import MCPServerConfigRow
from devplane.mcp.errors import AuthRequired

# (user_id, config) -> (token_type, access_token); raises AuthRequired when there is none usable.
TokenSource = Callable[[uuid.UUID, MCPServerConfigRow], Awaitable[tuple[str, str]]]


@dataclass(frozen=True)
class UpstreamAuth:
    headers: dict[str, str] = field(repr=False)
    # sha256 over config id, URL and headers: sessions are shared only between callers that
    # would send byte-identical credentials to the same server.
    fingerprint: str


def _fingerprint(config: MCPServerConfigRow, headers: dict[str, str]) -> str:
    material = json.dumps([str(config.id), config.url, sorted(headers.items())])
    return hashlib.sha256(material.encode()).hexdigest()[:32]


async def resolve(config: MCPServerConfigRow, user_id: uuid.UUID, tokens: TokenSource) -> UpstreamAuth:
    headers: dict[str, str] = {}
    if config.auth_type == "oauth2":
        token_type, access_token = await tokens(user_id, config)
        if not access_token:
            raise AuthRequired("connect your account to this server")
        headers["Authorization"] = f"{'Bearer' if token_type.lower() == 'bearer' else token_type} {access_token}"
    elif config.auth_type == "api_key":
        headers[config.api_key_header] = config.api_key_value
    elif config.auth_type == "custom_headers":
        headers.update(json.loads(config.custom_headers or "{}"))
    return UpstreamAuth(headers=headers, fingerprint=_fingerprint(config, headers))
