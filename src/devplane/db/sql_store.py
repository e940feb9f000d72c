"""SqlStore: the only implementation of `Store` that touches SQL."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import TableClause, Text, Uuid, and_, column, delete, func, select, table, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devplane.db import models as m
from devplane.db.pubsub import CHANNEL, MAX_PAYLOAD_BYTES, queue_after_commit
from devplane.db.rows import (
    APIKeyRow,
    AuditLogFilter,
    AuditLogRow,
    DBCryptKeyRow,
    EncryptedColumn,
    EncryptedValue,
    UserRow,
)
from devplane.db.sql_chat_admin import SqlChatAdminQueries
from devplane.db.sql_chat_turns import SqlChatTurnQueries
from devplane.db.sql_mcp import SqlMCPQueries
from devplane.db.sql_oauth2 import SqlOAuth2Queries
from devplane.db.sql_tool_calls import SqlToolCallQueries
from devplane.errors import Conflict, NotFound

_PG_FIRST_USER_LOCK = 0x64700001  # arbitrary; distinct from the migration lock


def is_unique_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    # asyncpg: UniqueViolationError / "duplicate key"; sqlite: "UNIQUE constraint failed".
    return "unique" in text or "duplicate key" in text


def _user(o: m.User) -> UserRow:
    return UserRow(
        id=o.id,
        email=o.email,
        username=o.username,
        hashed_password=o.hashed_password,
        roles=tuple(o.roles),
        status=o.status,
        created_at=o.created_at,
        updated_at=o.updated_at,
        last_seen_at=o.last_seen_at,
    )


def _key(o: m.APIKey) -> APIKeyRow:
    return APIKeyRow(
        id=o.id,
        user_id=o.user_id,
        hashed_secret=o.hashed_secret,
        name=o.name,
        login_type=o.login_type,
        lifetime_seconds=o.lifetime_seconds,
        expires_at=o.expires_at,
        created_at=o.created_at,
        last_used_at=o.last_used_at,
        audience=o.audience,
        scope=o.scope,
        oauth2_app_id=o.oauth2_app_id,
    )


def _audit(o: m.AuditLog) -> AuditLogRow:
    return AuditLogRow(
        id=o.id,
        time=o.time,
        user_id=o.user_id,
        username=o.username,
        action=o.action,
        resource_type=o.resource_type,
        resource_id=o.resource_id,
        resource_target=o.resource_target,
        ip=o.ip,
        user_agent=o.user_agent,
        request_id=o.request_id,
        status_code=o.status_code,
        diff=dict(o.diff),
    )


def _dbcrypt(o: m.DBCryptKey) -> DBCryptKeyRow:
    return DBCryptKeyRow(
        number=o.number,
        active_key_digest=o.active_key_digest,
        revoked_key_digest=o.revoked_key_digest,
        created_at=o.created_at,
        revoked_at=o.revoked_at,
        test=o.test,
    )


class SqlStore(SqlMCPQueries, SqlToolCallQueries, SqlOAuth2Queries, SqlChatAdminQueries, SqlChatTurnQueries):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def as_system(self, reason: str) -> SqlStore:
        return self

    async def _flush(self, conflict_message: str) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise Conflict(conflict_message) from exc
            raise

    # --- users -------------------------------------------------------------------------
    async def count_users(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(m.User))).scalar_one())

    async def lock_first_user(self) -> None:
        # SQLite transactions already hold the write lock (BEGIN IMMEDIATE). On PostgreSQL,
        # concurrent first-user requests would each count zero users and each insert an owner.
        if (await self.session.connection()).dialect.name == "postgresql":
            await self.session.execute(select(func.pg_advisory_xact_lock(_PG_FIRST_USER_LOCK)))

    async def _user_obj(self, user_id: uuid.UUID) -> m.User:
        obj = await self.session.get(m.User, user_id)
        if obj is None:
            raise NotFound("User not found.")
        return obj

    async def get_user_by_id(self, user_id: uuid.UUID) -> UserRow:
        return _user(await self._user_obj(user_id))

    async def _user_where(self, clause: Any) -> UserRow:
        obj = (await self.session.execute(select(m.User).where(clause))).scalar_one_or_none()
        if obj is None:
            raise NotFound("User not found.")
        return _user(obj)

    async def get_user_by_username(self, username: str) -> UserRow:
        return await self._user_where(func.lower(m.User.username) == username.lower())

    async def get_user_by_email(self, email: str) -> UserRow:
        return await self._user_where(func.lower(m.User.email) == email.lower())

    async def list_users(self) -> list[UserRow]:
        rows = (await self.session.execute(select(m.User).order_by(m.User.username))).scalars()
        return [_user(o) for o in rows]

    async def insert_user(self, row: UserRow) -> UserRow:
        obj = m.User(
            id=row.id,
            email=row.email,
            username=row.username,
            hashed_password=row.hashed_password,
            roles=list(row.roles),
            status=row.status,
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_seen_at=row.last_seen_at,
        )
        self.session.add(obj)
        await self._flush("A user with that username or email already exists.")
        return _user(obj)

    async def _update_user(self, user_id: uuid.UUID, conflict: str = "", **values: Any) -> UserRow:
        obj = await self._user_obj(user_id)
        for name, value in values.items():
            setattr(obj, name, value)
        obj.updated_at = dt.datetime.now(dt.UTC)
        await self._flush(conflict or "Conflicting update.")
        return _user(obj)

    async def update_user_profile(self, user_id: uuid.UUID, *, username: str, email: str) -> UserRow:
        return await self._update_user(
            user_id, "A user with that username or email already exists.", username=username, email=email
        )

    async def update_user_password(self, user_id: uuid.UUID, hashed_password: str) -> UserRow:
        return await self._update_user(user_id, hashed_password=hashed_password)

    async def update_user_status(self, user_id: uuid.UUID, status: str) -> UserRow:
        return await self._update_user(user_id, status=status)

    async def update_user_roles(self, user_id: uuid.UUID, roles: list[str]) -> UserRow:
        return await self._update_user(user_id, roles=sorted(set(roles)))

    async def update_user_last_seen(self, user_id: uuid.UUID, at: dt.datetime) -> None:
        await self.session.execute(update(m.User).where(m.User.id == user_id).values(last_seen_at=at))

    async def delete_user(self, user_id: uuid.UUID) -> None:
        obj = await self._user_obj(user_id)
        # Explicit delete of keys: SQLite only cascades with PRAGMA foreign_keys, which we set,
        # but doing it here keeps the session's identity map consistent too.
        await self.session.execute(delete(m.APIKey).where(m.APIKey.user_id == user_id))
        await self.session.delete(obj)
        await self.session.flush()

    # --- API keys ------------------------------------------------------------------------
    async def insert_api_key(self, row: APIKeyRow) -> APIKeyRow:
        obj = m.APIKey(
            id=row.id,
            user_id=row.user_id,
            hashed_secret=row.hashed_secret,
            name=row.name,
            login_type=row.login_type,
            lifetime_seconds=row.lifetime_seconds,
            expires_at=row.expires_at,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            audience=row.audience,
            scope=row.scope,
            oauth2_app_id=row.oauth2_app_id,
        )
        self.session.add(obj)
        await self._flush("An API key with that id already exists.")
        return _key(obj)

    async def get_api_key_by_id(self, key_id: str) -> APIKeyRow:
        obj = await self.session.get(m.APIKey, key_id)
        if obj is None:
            raise NotFound("API key not found.")
        return _key(obj)

    async def list_api_keys_by_user_id(self, user_id: uuid.UUID, login_type: str | None) -> list[APIKeyRow]:
        stmt = select(m.APIKey).where(m.APIKey.user_id == user_id)
        if login_type is not None:
            stmt = stmt.where(m.APIKey.login_type == login_type)
        rows = (await self.session.execute(stmt.order_by(m.APIKey.created_at.desc(), m.APIKey.id))).scalars()
        return [_key(o) for o in rows]

    async def update_api_key_last_used(self, key_id: str, at: dt.datetime) -> None:
        await self.session.execute(update(m.APIKey).where(m.APIKey.id == key_id).values(last_used_at=at))

    async def delete_api_key(self, key_id: str) -> None:
        result = await self.session.execute(delete(m.APIKey).where(m.APIKey.id == key_id))
        if getattr(result, "rowcount", 0) == 0:
            raise NotFound("API key not found.")

    # --- audit ---------------------------------------------------------------------------
    async def insert_audit_log(self, row: AuditLogRow) -> None:
        self.session.add(
            m.AuditLog(
                id=row.id,
                time=row.time,
                user_id=row.user_id,
                username=row.username,
                action=row.action,
                resource_type=row.resource_type,
                resource_id=row.resource_id,
                resource_target=row.resource_target,
                ip=row.ip,
                user_agent=row.user_agent,
                request_id=row.request_id,
                status_code=row.status_code,
                diff=row.diff,
            )
        )
        await self.session.flush()

    async def list_audit_logs(self, flt: AuditLogFilter) -> tuple[list[AuditLogRow], int]:
        conds: list[Any] = []
        if flt.resource_type:
            conds.append(m.AuditLog.resource_type == flt.resource_type)
        if flt.action:
            conds.append(m.AuditLog.action == flt.action)
        if flt.username:
            conds.append(func.lower(m.AuditLog.username) == flt.username.lower())
        if flt.user_id:
            conds.append(m.AuditLog.user_id == flt.user_id)
        if flt.resource_id:
            conds.append(m.AuditLog.resource_id == flt.resource_id)
        if flt.since:
            conds.append(m.AuditLog.time >= flt.since)
        if flt.until:
            conds.append(m.AuditLog.time < flt.until)
        where = and_(*conds) if conds else None
        count_stmt = select(func.count()).select_from(m.AuditLog)
        stmt = select(m.AuditLog).order_by(m.AuditLog.time.desc(), m.AuditLog.id)
        if where is not None:
            count_stmt = count_stmt.where(where)
            stmt = stmt.where(where)
        total = int((await self.session.execute(count_stmt)).scalar_one())
        rows = (await self.session.execute(stmt.limit(flt.limit).offset(flt.offset))).scalars()
        return [_audit(o) for o in rows], total

    # --- dbcrypt -------------------------------------------------------------------------
    async def get_dbcrypt_keys(self) -> list[DBCryptKeyRow]:
        rows = (await self.session.execute(select(m.DBCryptKey).order_by(m.DBCryptKey.number))).scalars()
        return [_dbcrypt(o) for o in rows]

    async def insert_dbcrypt_key(self, row: DBCryptKeyRow) -> DBCryptKeyRow:
        obj = m.DBCryptKey(
            number=row.number,
            active_key_digest=row.active_key_digest,
            revoked_key_digest=row.revoked_key_digest,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            test=row.test,
        )
        self.session.add(obj)
        await self._flush("That encryption key is already registered.")
        return _dbcrypt(obj)

    async def revoke_dbcrypt_key(self, digest: str, at: dt.datetime) -> DBCryptKeyRow:
        obj = (
            await self.session.execute(select(m.DBCryptKey).where(m.DBCryptKey.active_key_digest == digest))
        ).scalar_one_or_none()
        if obj is None:
            raise NotFound(f"No active encryption key with digest {digest}.")
        obj.active_key_digest = None
        obj.revoked_key_digest = digest
        obj.revoked_at = at
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise Conflict(
                f"Encryption key {digest} is still in use.",
                detail="Run `devplane dbcrypt rotate` to re-encrypt with the primary key first.",
            ) from exc
        return _dbcrypt(obj)

    @staticmethod
    def _table(col: EncryptedColumn) -> TableClause:
        # Typed id column: SQLite stores Uuid as 32 hex chars, PostgreSQL natively.
        return table(col.table, column(col.id_column, Uuid), column(col.column, Text), column(col.key_id_column, Text))

    async def count_encrypted_values(
        self, column_: EncryptedColumn, key_id: str | None, *, not_key_id: str | None = None
    ) -> int:
        t = self._table(column_)
        val_c, key_c = t.c[column_.column], t.c[column_.key_id_column]
        stmt = select(func.count()).select_from(t).where(val_c != "")
        if key_id is not None:
            stmt = stmt.where(key_c == key_id)
        elif not_key_id is not None:
            stmt = stmt.where((key_c.is_(None)) | (key_c != not_key_id))
        return int((await self.session.execute(stmt)).scalar_one())

    async def list_encrypted_values(
        self, column_: EncryptedColumn, *, not_key_id: str | None, limit: int
    ) -> list[EncryptedValue]:
        t = self._table(column_)
        id_c, val_c, key_c = t.c[column_.id_column], t.c[column_.column], t.c[column_.key_id_column]
        stmt = select(id_c, val_c, key_c).where(val_c != "")
        if not_key_id is not None:
            stmt = stmt.where((key_c.is_(None)) | (key_c != not_key_id))
        stmt = stmt.order_by(id_c).limit(limit)
        result = await self.session.execute(stmt)
        return [EncryptedValue(row_id=str(r[0]), value=r[1], key_id=r[2]) for r in result]

    async def update_encrypted_value(
        self, column_: EncryptedColumn, row_id: str, *, expected_key_id: str | None, value: str, key_id: str | None
    ) -> bool:
        t = self._table(column_)
        key_c = t.c[column_.key_id_column]
        guard = key_c.is_(None) if expected_key_id is None else key_c == expected_key_id
        stmt = (
            update(t)
            .where(t.c[column_.id_column] == uuid.UUID(row_id), guard)
            .values({column_.column: value, column_.key_id_column: key_id})
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    # --- change events ---------------------------------------------------------------------
    async def publish_event(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        if len(body.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"event payload of {len(body)} bytes exceeds {MAX_PAYLOAD_BYTES}")
        if self.session.get_bind().dialect.name == "postgresql":
            # Transactional: PostgreSQL delivers the NOTIFY at COMMIT and drops it on rollback.
            await self.session.execute(select(func.pg_notify(CHANNEL, body)))
            return
        await self.session.connection()  # be inside the transaction whose commit delivers it
        # The round trip through JSON gives local subscribers exactly what PostgreSQL's would get.
        queue_after_commit(self.session.sync_session, json.loads(body))

    # --- authentication (issue 9) ---------------------------------------------------------
    async def get_api_key_with_user(self, key_id: str) -> tuple[APIKeyRow, UserRow]:
        # Perf: one query by primary key with the join, instead of a get for each.
        stmt = select(m.APIKey, m.User).join(m.User, m.User.id == m.APIKey.user_id).where(m.APIKey.id == key_id)
        found = (await self.session.execute(stmt)).one_or_none()
        if found is None:
            raise NotFound("API key not found.")
        return _key(found[0]), _user(found[1])
