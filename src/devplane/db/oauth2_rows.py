"""Row types of the OAuth2 provider. Hashes are repr=False so they never reach a log line."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from devplane.authz.authorizer import Object
from devplane.authz.policy import Resource

DEPLOYMENT = Object(Resource.DEPLOYMENT_CONFIG)


@dataclass(frozen=True)
class OAuth2ProviderSettingsRow:
    dynamic_client_registration: bool
    updated_at: dt.datetime | None

    def authz_object(self) -> Object:
        return DEPLOYMENT


@dataclass(frozen=True)
class OAuth2ProviderAppRow:
    id: uuid.UUID
    created_at: dt.datetime
    updated_at: dt.datetime
    name: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str
    dynamically_registered: bool
    registration_access_token_hash: bytes | None = field(repr=False)

    def authz_object(self) -> Object:
        # Apps are deployment configuration; the token endpoint and consent page read them as the system.
        return DEPLOYMENT

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"  # noqa: S105 - an auth method name, not a secret


@dataclass(frozen=True)
class OAuth2ProviderAppSecretRow:
    id: uuid.UUID
    app_id: uuid.UUID
    created_at: dt.datetime
    secret_prefix: str
    hashed_secret: bytes = field(repr=False)

    def authz_object(self) -> Object:
        return DEPLOYMENT


@dataclass(frozen=True)
class OAuth2ProviderAppCodeRow:
    id: uuid.UUID
    created_at: dt.datetime
    expires_at: dt.datetime
    secret_prefix: str
    hashed_secret: bytes = field(repr=False)
    user_id: uuid.UUID
    app_id: uuid.UUID
    redirect_uri: str
    resource_uri: str
    code_challenge: str
    code_challenge_method: str
    scope: str
    used_at: dt.datetime | None

    def authz_object(self) -> Object:
        # A code is a credential of its user, like an API key.
        return Object(Resource.API_KEY, owner_id=self.user_id)


@dataclass(frozen=True)
class OAuth2ProviderAppTokenRow:
    id: uuid.UUID
    created_at: dt.datetime
    expires_at: dt.datetime
    hash_prefix: str
    refresh_hash: bytes = field(repr=False)
    app_id: uuid.UUID
    user_id: uuid.UUID
    api_key_id: str
    audience: str
    scope: str
    family_id: uuid.UUID
    rotated_at: dt.datetime | None

    def authz_object(self) -> Object:
        return Object(Resource.API_KEY, owner_id=self.user_id)
