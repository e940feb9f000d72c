"""ORM models: the schema as Python sees it. Migrations create it; a test checks they agree."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
    true,
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
        CheckConstraint("login_type IN ('password', 'token', 'oauth2_provider_app')", name="login_type"),
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
    # OAuth2 provider (issue 12): an access token is an API key of login type
    # 'oauth2_provider_app', bound to one resource (the gateway) and scope, for one client.
    audience: Mapped[str] = mapped_column(Text, server_default="")
    scope: Mapped[str] = mapped_column(Text, server_default="")
    oauth2_app_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("oauth2_provider_apps.id", ondelete="CASCADE"), nullable=True
    )


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


def _key_fk() -> ForeignKey:
    # A key that still encrypts a value cannot be revoked: revoking nulls active_key_digest.
    return ForeignKey("dbcrypt_keys.active_key_digest")


class MCPServerConfig(Base):
    __tablename__ = "mcp_server_configs"
    __table_args__ = (
        CheckConstraint("transport IN ('streamable_http', 'sse')", name="transport"),
        CheckConstraint("auth_type IN ('none', 'oauth2', 'api_key', 'custom_headers')", name="auth_type"),
        CheckConstraint("availability IN ('force_on', 'default_on', 'default_off')", name="availability"),
        Index(
            "idx_mcp_server_configs_enabled",
            "enabled",
            postgresql_where=text("enabled = true"),
            sqlite_where=text("enabled = 1"),
        ),
        Index(
            "idx_mcp_server_configs_forced",
            "enabled",
            "availability",
            postgresql_where=text("enabled = true AND availability = 'force_on'"),
            sqlite_where=text("enabled = 1 AND availability = 'force_on'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str] = mapped_column(Text, server_default="")
    icon_url: Mapped[str] = mapped_column(Text, server_default="")
    transport: Mapped[str] = mapped_column(Text, server_default="streamable_http")
    url: Mapped[str] = mapped_column(Text)
    auth_type: Mapped[str] = mapped_column(Text, server_default="none")
    oauth2_client_id: Mapped[str] = mapped_column(Text, server_default="")
    oauth2_client_secret: Mapped[str] = mapped_column(Text, server_default="")
    oauth2_client_secret_key_id: Mapped[str | None] = mapped_column(Text, _key_fk(), nullable=True)
    oauth2_auth_url: Mapped[str] = mapped_column(Text, server_default="")
    oauth2_token_url: Mapped[str] = mapped_column(Text, server_default="")
    oauth2_revocation_url: Mapped[str] = mapped_column(Text, server_default="")
    oauth2_scopes: Mapped[str] = mapped_column(Text, server_default="")
    api_key_header: Mapped[str] = mapped_column(Text, server_default="Authorization")
    api_key_value: Mapped[str] = mapped_column(Text, server_default="")
    api_key_value_key_id: Mapped[str | None] = mapped_column(Text, _key_fk(), nullable=True)
    custom_headers: Mapped[str] = mapped_column(Text, server_default="{}")
    custom_headers_key_id: Mapped[str | None] = mapped_column(Text, _key_fk(), nullable=True)
    # Header names only, in clear, so admins can see what is set without decrypting values.
    custom_header_names: Mapped[list[str]] = mapped_column(JSONType)
    tool_allow_list: Mapped[list[str]] = mapped_column(JSONType)
    tool_deny_list: Mapped[list[str]] = mapped_column(JSONType)
    availability: Mapped[str] = mapped_column(Text, server_default="default_off")
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MCPServerUserToken(Base):
    __tablename__ = "mcp_server_user_tokens"
    __table_args__ = (
        UniqueConstraint("mcp_server_config_id", "user_id"),
        Index("idx_mcp_server_user_tokens_user_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    mcp_server_config_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("mcp_server_configs.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    access_token: Mapped[str] = mapped_column(Text)
    access_token_key_id: Mapped[str | None] = mapped_column(Text, _key_fk(), nullable=True)
    refresh_token: Mapped[str] = mapped_column(Text, server_default="")
    refresh_token_key_id: Mapped[str | None] = mapped_column(Text, _key_fk(), nullable=True)
    token_type: Mapped[str] = mapped_column(Text, server_default="Bearer")
    expiry: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set when a refresh failed permanently (invalid_grant); the user must reconnect.
    refresh_failure_reason: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MCPOAuth2State(Base):
    """Pending OAuth2 authorizations. Server-side so state is single-use across replicas."""

    __tablename__ = "mcp_oauth2_states"
    __table_args__ = (Index("ix_mcp_oauth2_states_expires_at", "expires_at"),)

    # sha256 of the state parameter: a database leak does not reveal usable states.
    state_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    mcp_server_config_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("mcp_server_configs.id", ondelete="CASCADE")
    )
    code_verifier: Mapped[str] = mapped_column(Text)
    code_verifier_key_id: Mapped[str | None] = mapped_column(Text, _key_fk(), nullable=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Chat(Base):
    __tablename__ = "chats"
    __table_args__ = (
        Index("ix_chats_owner_id", "owner_id"),
        # chat loop (issue 10): the worker's claim query scans only these.
        CheckConstraint("status IN ('waiting', 'pending', 'running', 'error')", name="status"),
        Index(
            "idx_chats_pending",
            "status",
            postgresql_where=text("status IN ('pending', 'running')"),
            sqlite_where=text("status IN ('pending', 'running')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text, server_default="")
    # No FK (an array of ids); deleting a config strips its id in the same transaction.
    mcp_server_ids: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The chat loop (issue 10): the model the next turn uses; null = the deployment's default.
    model_config_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("chat_model_configs.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(Text, server_default="waiting")
    worker_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # Summed over the assistant messages; a count no provider sent stays null.
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # The seq of the chat's newest message: messages get last_seq + 1 (SSE event ids).
    last_seq: Mapped[int] = mapped_column(Integer, server_default="0")


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant', 'system', 'tool')", name="role"),
        Index("ix_chat_messages_chat_id_created_at", "chat_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    chat_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("chats.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(Text)
    content: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # chat loop (issue 10)
    seq: Mapped[int] = mapped_column(Integer, server_default="0")
    model_config_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)  # no FK: history outlives configs
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class MCPToolCall(Base):
    """One governed MCP tool call (the tool-call log). Sizes only: never arguments or results."""

    __tablename__ = "mcp_tool_calls"
    __table_args__ = (
        Index("ix_mcp_tool_calls_created_at", "created_at"),
        Index("ix_mcp_tool_calls_mcp_server_config_id_created_at", "mcp_server_config_id", "created_at"),
        # Serves the user filter, and ON DELETE SET NULL when a user is deleted (no table scan).
        Index("ix_mcp_tool_calls_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # When the call started.
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # No FK: the log outlives chats, and a write must never fail on a chat deleted meanwhile.
    chat_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    mcp_server_config_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("mcp_server_configs.id", ondelete="SET NULL"), nullable=True
    )
    # Denormalised so a row still names its server after the config is deleted.
    server_slug: Mapped[str] = mapped_column(Text)
    tool: Mapped[str] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)
    # No CHECK: a runtime that learns a new outcome must not make the log reject its rows.
    outcome: Mapped[str] = mapped_column(Text)
    error_class: Mapped[str] = mapped_column(Text, server_default="")
    arguments_bytes: Mapped[int] = mapped_column(Integer)
    result_bytes: Mapped[int] = mapped_column(Integer)
    # OAuth2 provider (issue 12): the OAuth client a gateway call came through. No FK, like
    # chat_id: the log outlives apps, and a batch must never fail on an app deleted meanwhile.
    oauth2_app_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


# --- chat loop: providers, model configs, chat settings (issue 10) ------------------------------
class ChatProvider(Base):
    """A model provider the deployment may call. One row per provider kind."""

    __tablename__ = "chat_providers"
    __table_args__ = (CheckConstraint("provider IN ('openai', 'anthropic', 'openai-compat', 'echo')", name="provider"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    provider: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str] = mapped_column(Text, server_default="")
    base_url: Mapped[str] = mapped_column(Text, server_default="")
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    api_key: Mapped[str] = mapped_column(Text, server_default="")
    api_key_key_id: Mapped[str | None] = mapped_column(Text, _key_fk(), nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ChatModelConfig(Base):
    """A model admins offer in the picker. Soft-deleted so old chats still name what answered them."""

    __tablename__ = "chat_model_configs"
    __table_args__ = (
        CheckConstraint("context_limit > 0", name="context_limit"),
        # At most one live default: a partial unique index on the flag itself (coder indexes ((1))).
        Index(
            "idx_chat_model_configs_single_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default = true AND deleted_at IS NULL"),
            sqlite_where=text("is_default = 1 AND deleted_at IS NULL"),
        ),
        # One live config per (provider, model): a duplicate is a 409, a deleted one may be re-added.
        Index(
            "idx_chat_model_configs_provider_model",
            "provider_id",
            "model",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("chat_providers.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text, server_default="")
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    is_default: Mapped[bool] = mapped_column(Boolean, server_default=false())
    context_limit: Mapped[int] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ChatSetting(Base):
    """Deployment-wide chat settings by key (the system prompt); coder keeps these in site_configs."""

    __tablename__ = "chat_settings"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ChatQueuedMessage(Base):
    """A message sent while its chat was busy; promoted, oldest first, when the turn ends."""

    __tablename__ = "chat_queued_messages"
    __table_args__ = (Index("ix_chat_queued_messages_chat_id_created_at", "chat_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    chat_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("chats.id", ondelete="CASCADE"))
    content: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# --- OAuth2 provider (issue 12): its tables live in their own module, registered on Base here.
from devplane.db import oauth2_models as oauth2_models  # noqa: E402 - needs Base above; registers the tables
