"""Tables of devplane's OAuth2 provider (coder's names): apps, their secrets, codes, refresh tokens.

Every secret (client secret, code, refresh token, registration access token) is stored as its
10-character prefix (the lookup key) and sha256 of the rest; never the secret itself.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from devplane.db.models import Base
from devplane.db.types import JSONType, UTCDateTime


class OAuth2ProviderSettings(Base):
    """One row (id 1): the provider's stored switches. Missing row = defaults (all off)."""

    __tablename__ = "oauth2_provider_settings"
    __table_args__ = (CheckConstraint("id = 1", name="singleton"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dynamic_client_registration: Mapped[bool] = mapped_column(Boolean, server_default=false())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class OAuth2ProviderApp(Base):
    __tablename__ = "oauth2_provider_apps"
    __table_args__ = (
        CheckConstraint(
            "token_endpoint_auth_method IN ('none', 'client_secret_basic', 'client_secret_post')",
            name="token_endpoint_auth_method",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the client_id
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    name: Mapped[str] = mapped_column(Text)
    redirect_uris: Mapped[list[str]] = mapped_column(JSONType)
    token_endpoint_auth_method: Mapped[str] = mapped_column(Text)
    # Self-registered (RFC 7591): the consent page marks the name as unverified.
    dynamically_registered: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # RFC 7592 registration access token, as sha256; NULL for apps an owner created.
    registration_access_token_hash: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class OAuth2ProviderAppSecret(Base):
    __tablename__ = "oauth2_provider_app_secrets"
    __table_args__ = (Index("ix_oauth2_provider_app_secrets_app_id", "app_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    app_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("oauth2_provider_apps.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    secret_prefix: Mapped[str] = mapped_column(Text, unique=True)
    hashed_secret: Mapped[bytes] = mapped_column(LargeBinary)


class OAuth2ProviderAppCode(Base):
    __tablename__ = "oauth2_provider_app_codes"
    __table_args__ = (Index("ix_oauth2_provider_app_codes_app_id_user_id", "app_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # also the family id of what it mints
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    secret_prefix: Mapped[str] = mapped_column(Text, unique=True)
    hashed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    app_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("oauth2_provider_apps.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    resource_uri: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(Text)
    code_challenge_method: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    # Set by the first exchange; a second exchange finds it set and revokes the family.
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OAuth2ProviderAppToken(Base):
    """A refresh token and the access token (API key) issued with it."""

    __tablename__ = "oauth2_provider_app_tokens"
    __table_args__ = (
        Index("ix_oauth2_provider_app_tokens_family_id", "family_id"),
        Index("ix_oauth2_provider_app_tokens_user_id_app_id", "user_id", "app_id"),
        Index("ix_oauth2_provider_app_tokens_api_key_id", "api_key_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    hash_prefix: Mapped[str] = mapped_column(Text, unique=True)
    refresh_hash: Mapped[bytes] = mapped_column(LargeBinary)
    app_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("oauth2_provider_apps.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    # Revoking the family deletes its API keys; this row goes with its key.
    api_key_id: Mapped[str] = mapped_column(String(10), ForeignKey("api_keys.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    # Every token descending from one authorization code shares the code's id.
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # When this token was first exchanged for a new one (start of the grace window).
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
