"""ORM models: the schema as Python sees it. Migrations create it; a test checks they agree."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from devplane.db.types import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("status IN ('active', 'suspended')", name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    hashed_password: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(Text, server_default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class APIKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("login_type IN ('password', 'token')", name="login_type"),
        Index("ix_api_keys_user_id", "user_id"),
    )

    id: Mapped[str] = mapped_column(String(10), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    hashed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(Text, server_default="")
    # 'password': a login session; 'token': an API key created on purpose.
    login_type: Mapped[str] = mapped_column(Text)
    lifetime_seconds: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditLog(Base):
    __tablename__ = "audit_logs"
    __table_args__ = (
        Index("ix_audit_logs_time", "time"),
        Index("ix_audit_logs_resource_type_action", "resource_type", "action"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # No FK: the trail must outlive the user it mentions.
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    username: Mapped[str] = mapped_column(Text, server_default="")
    action: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(Text)
    resource_id: Mapped[str] = mapped_column(Text, server_default="")
    resource_target: Mapped[str] = mapped_column(Text, server_default="")
    ip: Mapped[str] = mapped_column(Text, server_default="")
    user_agent: Mapped[str] = mapped_column(Text, server_default="")
    request_id: Mapped[str] = mapped_column(Text, server_default="")
    status_code: Mapped[int] = mapped_column(Integer)
    diff: Mapped[dict[str, Any]] = mapped_column(JSONType)


class DBCryptKey(Base):
    __tablename__ = "dbcrypt_keys"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    active_key_digest: Mapped[str | None] = mapped_column(Text, unique=True, nullable=True)
    revoked_key_digest: Mapped[str | None] = mapped_column(Text, unique=True, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    test: Mapped[str] = mapped_column(Text)
