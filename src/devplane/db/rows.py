"""Frozen row types returned by the Store. Never live ORM objects, so plaintext can't be flushed."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from devplane.authz.authorizer import Object
from devplane.authz.policy import Resource


@dataclass(frozen=True)
class UserRow:
    id: uuid.UUID
    email: str
    username: str
    hashed_password: str = field(repr=False)
    roles: tuple[str, ...]
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    last_seen_at: dt.datetime | None

    def authz_object(self) -> Object:
        return Object(Resource.USER, owner_id=self.id)


@dataclass(frozen=True)
class APIKeyRow:
    id: str
    user_id: uuid.UUID
    hashed_secret: bytes = field(repr=False)
    name: str
    login_type: str
    lifetime_seconds: int
    expires_at: dt.datetime
    created_at: dt.datetime
    last_used_at: dt.datetime
    # OAuth2 provider (issue 12): set on access tokens (login type 'oauth2_provider_app') only.
    audience: str = ""
    scope: str = ""
    oauth2_app_id: uuid.UUID | None = None

    def authz_object(self) -> Object:
        return Object(Resource.API_KEY, owner_id=self.user_id)


@dataclass(frozen=True)
class AuditLogRow:
    id: uuid.UUID
    time: dt.datetime
    user_id: uuid.UUID | None
    username: str
    action: str
    resource_type: str
    resource_id: str
    resource_target: str
    ip: str
    user_agent: str
    request_id: str
    status_code: int
    diff: dict[str, Any]

    def authz_object(self) -> Object:
        return Object(Resource.AUDIT_LOG)


@dataclass(frozen=True)
class AuditLogFilter:
    resource_type: str | None = None
    action: str | None = None
    username: str | None = None
    user_id: uuid.UUID | None = None
    resource_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class DBCryptKeyRow:
    number: int
    active_key_digest: str | None
    revoked_key_digest: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    test: str = field(repr=False)

    def authz_object(self) -> Object:
        return Object(Resource.DBCRYPT_KEY)


@dataclass(frozen=True)
class EncryptedColumn:
    """One encrypted column: rotation and the crypt store find every secret through these."""

    table: str
    column: str
    id_column: str = "id"

    @property
    def key_id_column(self) -> str:
        return f"{self.column}_key_id"

    def aad(self, row_id: object) -> str:
        # Binds ciphertext to its place: a value copied elsewhere fails authentication.
        return f"{self.table}.{self.column}.{row_id}"


@dataclass(frozen=True)
class EncryptedValue:
    row_id: str
    value: str = field(repr=False)
    key_id: str | None
