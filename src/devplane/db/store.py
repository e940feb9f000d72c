"""The `Store` protocol: every query devplane runs. Routes and services depend on this only.

The stack is built in one place (api/deps.py, services/system.py):
`CryptStore(AuthzStore(SqlStore(session), actor))`. A test fails on any method here that has
no authorization case, so adding a method means adding its case in tests/db/test_authz_store.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import fields
from typing import Any, Protocol

from devplane.db.rows import (
    APIKeyRow,
    AuditLogFilter,
    AuditLogRow,
    DBCryptKeyRow,
    EncryptedColumn,
    EncryptedValue,
    UserRow,
)

# Methods of the protocol that are plumbing, not queries; the accounting test skips them.
NON_QUERY_METHODS = frozenset({"as_system"})


class Store(Protocol):
    def as_system(self, reason: str) -> Store:
        """The same store acting as the system. `reason` is a literal that says why."""
        ...

    # --- users -------------------------------------------------------------------------
    async def count_users(self) -> int:
        """Number of users; used to decide whether the first-user flow is open."""
        ...

    async def get_user_by_id(self, user_id: uuid.UUID) -> UserRow:
        """Raise NotFound when missing."""
        ...

    async def get_user_by_username(self, username: str) -> UserRow:
        """Case-insensitive; raise NotFound when missing."""
        ...

    async def get_user_by_email(self, email: str) -> UserRow:
        """Case-insensitive; raise NotFound when missing."""
        ...

    async def list_users(self) -> list[UserRow]:
        """All users ordered by username."""
        ...

    async def insert_user(self, row: UserRow) -> UserRow:
        """Raise Conflict on a duplicate username or email."""
        ...

    async def update_user_profile(self, user_id: uuid.UUID, *, username: str, email: str) -> UserRow:
        """Replace username and email; raise Conflict on a duplicate."""
        ...

    async def update_user_password(self, user_id: uuid.UUID, hashed_password: str) -> UserRow:
        """Store a new password hash."""
        ...

    async def update_user_status(self, user_id: uuid.UUID, status: str) -> UserRow:
        """Set 'active' or 'suspended'."""
        ...

    async def update_user_roles(self, user_id: uuid.UUID, roles: list[str]) -> UserRow:
        """Replace the user's explicit roles (member is implied)."""
        ...

    async def update_user_last_seen(self, user_id: uuid.UUID, at: dt.datetime) -> None:
        """Bump last-seen; best effort, called on authenticated requests."""
        ...

    async def delete_user(self, user_id: uuid.UUID) -> None:
        """Delete a user; their API keys go with them."""
        ...

    # --- API keys ------------------------------------------------------------------------
    async def insert_api_key(self, row: APIKeyRow) -> APIKeyRow:
        """Store a new key (hash only)."""
        ...

    async def get_api_key_by_id(self, key_id: str) -> APIKeyRow:
        """Raise NotFound when missing."""
        ...

    async def list_api_keys_by_user_id(self, user_id: uuid.UUID, login_type: str | None) -> list[APIKeyRow]:
        """A user's keys, newest first; optionally only one login type."""
        ...

    async def update_api_key_last_used(self, key_id: str, at: dt.datetime) -> None:
        """Bump last-used; best effort."""
        ...

    async def delete_api_key(self, key_id: str) -> None:
        """Revoke a key. Missing keys raise NotFound."""
        ...

    # --- audit ---------------------------------------------------------------------------
    async def insert_audit_log(self, row: AuditLogRow) -> None:
        """Append an entry in the caller's transaction."""
        ...

    async def list_audit_logs(self, flt: AuditLogFilter) -> tuple[list[AuditLogRow], int]:
        """Entries newest first, and the total count matching the filter."""
        ...

    # --- dbcrypt -------------------------------------------------------------------------
    async def get_dbcrypt_keys(self) -> list[DBCryptKeyRow]:
        """All key rows ordered by number."""
        ...

    async def insert_dbcrypt_key(self, row: DBCryptKeyRow) -> DBCryptKeyRow:
        """Register a key with its encrypted test value."""
        ...

    async def revoke_dbcrypt_key(self, digest: str, at: dt.datetime) -> DBCryptKeyRow:
        """Move digest from active to revoked. Conflict when rows still use it."""
        ...

    async def count_encrypted_values(self, column: EncryptedColumn, key_id: str) -> int:
        """How many values of `column` are encrypted with `key_id`."""
        ...

    async def list_encrypted_values(
        self, column: EncryptedColumn, *, not_key_id: str | None, limit: int
    ) -> list[EncryptedValue]:
        """Non-empty values of `column` whose key is not `not_key_id` (rotation's work list)."""
        ...

    async def update_encrypted_value(
        self, column: EncryptedColumn, row_id: str, *, expected_key_id: str | None, value: str, key_id: str | None
    ) -> bool:
        """Compare-and-set one value; False when it changed underneath (rotation retries)."""
        ...


def row_dict(row: Any) -> dict[str, Any]:
    """Plain dict of a row's public fields, for diffs and logs (never includes repr=False fields)."""
    return {f.name: getattr(row, f.name) for f in fields(row) if f.repr}
