"""What the OAuth2 provider's services share: its configuration, errors and client authentication."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from devplane.crypto import oauth2_secrets
from devplane.db.oauth2_rows import OAuth2ProviderAppRow
from devplane.db.store import Store
from devplane.errors import NotFound
from devplane.services.oauth2_urls import canonical_resource

SCOPE = "mcp"  # the one scope: use the MCP gateway
SCOPES = (SCOPE,)
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")
LOGIN_TYPE = "oauth2_provider_app"
CODE_SECONDS = 10 * 60
ACCESS_SECONDS = 3600
REFRESH_SECONDS = 30 * 24 * 3600
ROTATION_GRACE_SECONDS = 60


@dataclass(frozen=True)
class ProviderConfig:
    """issuer: the access URL, verbatim (clients compare it byte for byte); resource: the gateway."""

    issuer: str
    resource: str


class OAuth2Error(Exception):
    """An RFC 6749 error: rendered as {"error", "error_description"} (or a redirect), never the envelope."""

    def __init__(self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.error, self.description, self.status, self.headers = error, description, status, headers or {}


def parse_client_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def load_app(store: Store, client_id: str) -> OAuth2ProviderAppRow | None:
    app_id = parse_client_id(client_id)
    if app_id is None:
        return None
    try:
        return await store.as_system(reason="look up an OAuth2 client").get_oauth2_provider_app_by_id(app_id)
    except NotFound:
        return None


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str | None
    via_basic: bool


async def authenticate_client(store: Store, creds: ClientCredentials) -> OAuth2ProviderAppRow:
    """The app the credentials prove, or invalid_client (401). Public apps need only their id."""
    challenge = {"WWW-Authenticate": 'Basic realm="devplane"'} if creds.via_basic else {}
    failure = OAuth2Error("invalid_client", "Client authentication failed.", 401, challenge)
    app = await load_app(store, creds.client_id)
    if app is None:
        raise failure
    if app.is_public:
        return app
    if not creds.client_secret:
        raise failure
    parsed = oauth2_secrets.parse(creds.client_secret)
    if parsed is None:
        raise failure
    try:
        secret = await store.as_system(reason="authenticate an OAuth2 client").get_oauth2_provider_app_secret_by_prefix(
            parsed.prefix
        )
    except NotFound:
        raise failure from None
    if secret.app_id != app.id or not oauth2_secrets.verify(parsed.secret, secret.hashed_secret):
        raise failure
    return app


def check_scope(requested: str | None) -> str:
    """The granted scope: the requested one if every part is known; absent means all."""
    if not requested or not requested.strip():
        return " ".join(SCOPES)
    # offline_access asks for a refresh token, which every grant gets anyway (SEP-2207).
    parts = [p for p in requested.split() if p != "offline_access"] or list(SCOPES)
    unknown = [p for p in parts if p not in SCOPES]
    if unknown:
        raise OAuth2Error("invalid_scope", f"Unknown scope: {' '.join(unknown)}. Supported: {' '.join(SCOPES)}.")
    return " ".join(dict.fromkeys(parts))


def check_resource(config: ProviderConfig, requested: str | None) -> str:
    """RFC 8707: the resource the token is for. Absent means the gateway (clients often omit it);
    any spelling of the gateway URL is accepted; anything else is invalid_target."""
    if requested is None or not requested.strip():
        return config.resource
    if canonical_resource(requested) != config.resource:
        raise OAuth2Error("invalid_target", f"Unknown resource; this server issues tokens for {config.resource}.")
    return config.resource
