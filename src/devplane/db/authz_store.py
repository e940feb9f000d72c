"""AuthzStore: every Store method, checked against the actor (coder's dbauthz).

Each method is one line over the helpers in authz_base.py. An unauthorized single-object read
raises NotFound (existence is not leaked); an unauthorized write on an object the actor can see
raises Forbidden, on one it cannot see NotFound.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog

from devplane.authz.authorizer import Object, Subject, system_subject
from devplane.authz.policy import Action, Resource
from devplane.db.authz_base import AUDIT, DBCRYPT, SYSTEM, user_object
from devplane.db.authz_chat_admin import AuthzChatAdmin
from devplane.db.authz_chat_turns import AuthzChatTurns
from devplane.db.authz_mcp import AuthzMCP
from devplane.db.authz_oauth2 import AuthzOAuth2
from devplane.db.rows import (
    APIKeyRow,
    AuditLogFilter,
    AuditLogRow,
    DBCryptKeyRow,
    EncryptedColumn,
    EncryptedValue,
    UserRow,
)
from devplane.db.store import Store
from devplane.errors import NotFound

log = structlog.get_logger(__name__)


class AuthzStore(AuthzMCP, AuthzOAuth2, AuthzChatAdmin, AuthzChatTurns):
    def __init__(self, inner: Store, actor: Subject) -> None:
        self.inner = inner
        self.actor = actor

    def as_system(self, reason: str) -> AuthzStore:
        if not reason:
            raise ValueError("as_system needs a reason")
        log.debug("store.as_system", reason=reason)
        return AuthzStore(self.inner.as_system(reason), system_subject(reason))

    async def _fetch_key_for_write(self, key_id: str) -> APIKeyRow:
        return await self._fetch(self.inner.get_api_key_by_id, key_id)

    # --- users -------------------------------------------------------------------------
    async def count_users(self) -> int:
        return await self._site(Action.READ, SYSTEM, self.inner.count_users)

    async def lock_first_user(self) -> None:
        return await self._site(Action.UPDATE, SYSTEM, self.inner.lock_first_user)

    async def get_user_by_id(self, user_id: uuid.UUID) -> UserRow:
        return await self._fetch(self.inner.get_user_by_id, user_id)

    async def get_user_by_username(self, username: str) -> UserRow:
        return await self._fetch(self.inner.get_user_by_username, username)

    async def get_user_by_email(self, email: str) -> UserRow:
        return await self._fetch(self.inner.get_user_by_email, email)

    async def list_users(self) -> list[UserRow]:
        return await self._filter(self.inner.list_users)

    async def insert_user(self, row: UserRow) -> UserRow:
        return await self._site(Action.CREATE, row.authz_object(), self.inner.insert_user, row)

    async def update_user_profile(self, user_id: uuid.UUID, *, username: str, email: str) -> UserRow:
        return await self._write(
            Action.UPDATE_PERSONAL,
            user_object(user_id),
            self.inner.update_user_profile,
            user_id,
            username=username,
            email=email,
        )

    async def update_user_password(self, user_id: uuid.UUID, hashed_password: str) -> UserRow:
        return await self._write(
            Action.UPDATE_PERSONAL, user_object(user_id), self.inner.update_user_password, user_id, hashed_password
        )

    async def update_user_status(self, user_id: uuid.UUID, status: str) -> UserRow:
        return await self._write(Action.UPDATE, user_object(user_id), self.inner.update_user_status, user_id, status)

    async def update_user_roles(self, user_id: uuid.UUID, roles: list[str]) -> UserRow:
        return await self._site(
            Action.ASSIGN, Object(Resource.ASSIGN_ROLE), self.inner.update_user_roles, user_id, roles
        )

    async def update_user_last_seen(self, user_id: uuid.UUID, at: dt.datetime) -> None:
        return await self._site(Action.UPDATE, SYSTEM, self.inner.update_user_last_seen, user_id, at)

    async def delete_user(self, user_id: uuid.UUID) -> None:
        return await self._write(Action.DELETE, user_object(user_id), self.inner.delete_user, user_id)

    # --- API keys ------------------------------------------------------------------------
    async def insert_api_key(self, row: APIKeyRow) -> APIKeyRow:
        return await self._site(Action.CREATE, row.authz_object(), self.inner.insert_api_key, row)

    async def get_api_key_by_id(self, key_id: str) -> APIKeyRow:
        return await self._fetch(self.inner.get_api_key_by_id, key_id)

    async def list_api_keys_by_user_id(self, user_id: uuid.UUID, login_type: str | None) -> list[APIKeyRow]:
        return await self._filter(self.inner.list_api_keys_by_user_id, user_id, login_type)

    async def update_api_key_last_used(self, key_id: str, at: dt.datetime) -> None:
        return await self._site(Action.UPDATE, SYSTEM, self.inner.update_api_key_last_used, key_id, at)

    async def delete_api_key(self, key_id: str) -> None:
        return await self._write_fetched(Action.DELETE, self._fetch_key_for_write, key_id, self.inner.delete_api_key)

    # --- audit ---------------------------------------------------------------------------
    async def insert_audit_log(self, row: AuditLogRow) -> None:
        return await self._site(Action.CREATE, AUDIT, self.inner.insert_audit_log, row)

    async def list_audit_logs(self, flt: AuditLogFilter) -> tuple[list[AuditLogRow], int]:
        return await self._site(Action.READ, AUDIT, self.inner.list_audit_logs, flt)

    # --- dbcrypt -------------------------------------------------------------------------
    async def get_dbcrypt_keys(self) -> list[DBCryptKeyRow]:
        return await self._site(Action.READ, DBCRYPT, self.inner.get_dbcrypt_keys)

    async def insert_dbcrypt_key(self, row: DBCryptKeyRow) -> DBCryptKeyRow:
        return await self._site(Action.CREATE, DBCRYPT, self.inner.insert_dbcrypt_key, row)

    async def revoke_dbcrypt_key(self, digest: str, at: dt.datetime) -> DBCryptKeyRow:
        return await self._site(Action.UPDATE, DBCRYPT, self.inner.revoke_dbcrypt_key, digest, at)

    async def count_encrypted_values(
        self, column: EncryptedColumn, key_id: str | None, *, not_key_id: str | None = None
    ) -> int:
        return await self._site(
            Action.READ, DBCRYPT, self.inner.count_encrypted_values, column, key_id, not_key_id=not_key_id
        )

    async def list_encrypted_values(
        self, column: EncryptedColumn, *, not_key_id: str | None, limit: int
    ) -> list[EncryptedValue]:
        return await self._site(
            Action.UPDATE, DBCRYPT, self.inner.list_encrypted_values, column, not_key_id=not_key_id, limit=limit
        )

    async def update_encrypted_value(
        self, column: EncryptedColumn, row_id: str, *, expected_key_id: str | None, value: str, key_id: str | None
    ) -> bool:
        return await self._site(
            Action.UPDATE,
            DBCRYPT,
            self.inner.update_encrypted_value,
            column,
            row_id,
            expected_key_id=expected_key_id,
            value=value,
            key_id=key_id,
        )

    # --- change events ---------------------------------------------------------------------
    async def publish_event(self, payload: dict[str, Any]) -> None:
        return await self._signed_in(self.inner.publish_event, payload)

    # --- authentication (issue 9) ---------------------------------------------------------
    async def get_api_key_with_user(self, key_id: str) -> tuple[APIKeyRow, UserRow]:
        key, user = await self.inner.get_api_key_with_user(key_id)
        if not (self.can(Action.READ, key.authz_object()) and self.can(Action.READ, user.authz_object())):
            raise NotFound()
        return key, user
