"""OAuth2 provider: apps, secrets, codes, refresh tokens, settings; OAuth access tokens as API keys.

Revision ID: 0005
Revises: 0003_tool_calls
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_APP_FK = "oauth2_provider_apps.id"


def upgrade() -> None:
    op.create_table(
        "oauth2_provider_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dynamic_client_registration", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("oauth2_provider_settings_singleton_check")),
        sa.PrimaryKeyConstraint("id", name=op.f("oauth2_provider_settings_pkey")),
    )
    op.create_table(
        "oauth2_provider_apps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("redirect_uris", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("token_endpoint_auth_method", sa.Text(), nullable=False),
        sa.Column("dynamically_registered", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("registration_access_token_hash", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "token_endpoint_auth_method IN ('none', 'client_secret_basic', 'client_secret_post')",
            name=op.f("oauth2_provider_apps_token_endpoint_auth_method_check"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("oauth2_provider_apps_pkey")),
    )
    op.create_table(
        "oauth2_provider_app_secrets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("app_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("secret_prefix", sa.Text(), nullable=False),
        sa.Column("hashed_secret", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], [_APP_FK], name=op.f("oauth2_provider_app_secrets_app_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("oauth2_provider_app_secrets_pkey")),
        sa.UniqueConstraint("secret_prefix", name=op.f("oauth2_provider_app_secrets_secret_prefix_key")),
    )
    with op.batch_alter_table("oauth2_provider_app_secrets", schema=None) as batch_op:
        batch_op.create_index("ix_oauth2_provider_app_secrets_app_id", ["app_id"], unique=False)
    op.create_table(
        "oauth2_provider_app_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("secret_prefix", sa.Text(), nullable=False),
        sa.Column("hashed_secret", sa.LargeBinary(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("app_id", sa.Uuid(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("resource_uri", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.Text(), nullable=False),
        sa.Column("code_challenge_method", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], [_APP_FK], name=op.f("oauth2_provider_app_codes_app_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("oauth2_provider_app_codes_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("oauth2_provider_app_codes_pkey")),
        sa.UniqueConstraint("secret_prefix", name=op.f("oauth2_provider_app_codes_secret_prefix_key")),
    )
    with op.batch_alter_table("oauth2_provider_app_codes", schema=None) as batch_op:
        batch_op.create_index("ix_oauth2_provider_app_codes_app_id_user_id", ["app_id", "user_id"], unique=False)

    # api_keys first: the token table's foreign key points at its id.
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audience", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("scope", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("oauth2_app_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("api_keys_oauth2_app_id_fkey"),
            "oauth2_provider_apps",
            ["oauth2_app_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint(batch_op.f("api_keys_login_type_check"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("api_keys_login_type_check"), "login_type IN ('password', 'token', 'oauth2_provider_app')"
        )
    op.create_table(
        "oauth2_provider_app_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hash_prefix", sa.Text(), nullable=False),
        sa.Column("refresh_hash", sa.LargeBinary(), nullable=False),
        sa.Column("app_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.String(length=10), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("oauth2_provider_app_tokens_api_key_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], [_APP_FK], name=op.f("oauth2_provider_app_tokens_app_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("oauth2_provider_app_tokens_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("oauth2_provider_app_tokens_pkey")),
        sa.UniqueConstraint("hash_prefix", name=op.f("oauth2_provider_app_tokens_hash_prefix_key")),
    )
    with op.batch_alter_table("oauth2_provider_app_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_oauth2_provider_app_tokens_family_id", ["family_id"], unique=False)
        batch_op.create_index("ix_oauth2_provider_app_tokens_user_id_app_id", ["user_id", "app_id"], unique=False)
        batch_op.create_index("ix_oauth2_provider_app_tokens_api_key_id", ["api_key_id"], unique=False)
    with op.batch_alter_table("mcp_tool_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oauth2_app_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mcp_tool_calls", schema=None) as batch_op:
        batch_op.drop_column("oauth2_app_id")
    op.drop_table("oauth2_provider_app_tokens")
    op.execute("DELETE FROM api_keys WHERE login_type = 'oauth2_provider_app'")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("api_keys_login_type_check"), type_="check")
        batch_op.create_check_constraint(batch_op.f("api_keys_login_type_check"), "login_type IN ('password', 'token')")
        batch_op.drop_constraint(batch_op.f("api_keys_oauth2_app_id_fkey"), type_="foreignkey")
        batch_op.drop_column("oauth2_app_id")
        batch_op.drop_column("scope")
        batch_op.drop_column("audience")
    op.drop_table("oauth2_provider_app_codes")
    op.drop_table("oauth2_provider_app_secrets")
    op.drop_table("oauth2_provider_apps")
    op.drop_table("oauth2_provider_settings")
