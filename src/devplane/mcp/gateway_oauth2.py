"""The gateway as an OAuth2 protected resource (RFC 9728, RFC 6750): its 401 challenge, the
audience check on OAuth access tokens, and CORS for browser clients (MCP Inspector).

Active only when the OAuth2 provider is on; otherwise the gateway behaves as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import Message, Send

CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"WWW-Authenticate, Mcp-Session-Id"),
]
PREFLIGHT = [
    *CORS,
    (b"access-control-allow-methods", b"POST, GET, DELETE, OPTIONS"),
    (
        b"access-control-allow-headers",
        b"Authorization, Content-Type, Accept, MCP-Protocol-Version, Mcp-Session-Id, Mcp-Method, Mcp-Name, "
        b"Last-Event-ID, Devplane-Session-Token",
    ),
    (b"access-control-max-age", b"600"),
    (b"content-length", b"0"),
]


@dataclass(frozen=True)
class GatewayOAuth2:
    resource: str  # canonical gateway URL: what OAuth access tokens must be bound to
    resource_metadata: str  # URL of the gateway's RFC 9728 document

    def challenge(self, *, token_sent: bool) -> str:
        value = f'Bearer resource_metadata="{self.resource_metadata}", scope="mcp"'
        return value + ', error="invalid_token"' if token_sent else value

    def accepts(self, oauth2_app_id: object, audience: str) -> bool:
        """API keys and sessions: yes; OAuth access tokens only when issued for this gateway."""
        return oauth2_app_id is None or audience == self.resource

    @staticmethod
    async def preflight(send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": PREFLIGHT})
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    def with_cors(send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *CORS]}
            await send(message)

        return wrapped
