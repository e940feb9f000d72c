"""MCP server configs, per-user OAuth2 tokens and states, chats and messages.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "chats",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("mcp_server_ids", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("chats_owner_id_fkey"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("chats_pkey")),
    )
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.create_index("ix_chats_owner_id", ["owner_id"], unique=False)

    op.create_table(
        "mcp_server_configs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("icon_url", sa.Text(), server_default="", nullable=False),
        sa.Column("transport", sa.Text(), server_default="streamable_http", nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("auth_type", sa.Text(), server_default="none", nullable=False),
        sa.Column("oauth2_client_id", sa.Text(), server_default="", nullable=False),
        sa.Column("oauth2_client_secret", sa.Text(), server_default="", nullable=False),
        sa.Column("oauth2_client_secret_key_id", sa.Text(), nullable=True),
        sa.Column("oauth2_auth_url", sa.Text(), server_default="", nullable=False),
        sa.Column("oauth2_token_url", sa.Text(), server_default="", nullable=False),
        sa.Column("oauth2_revocation_url", sa.Text(), server_default="", nullable=False),
        sa.Column("oauth2_scopes", sa.Text(), server_default="", nullable=False),
        sa.Column("api_key_header", sa.Text(), server_default="Authorization", nullable=False),
        sa.Column("api_key_value", sa.Text(), server_default="", nullable=False),
        sa.Column("api_key_value_key_id", sa.Text(), nullable=True),
        sa.Column("custom_headers", sa.Text(), server_default="{}", nullable=False),
        sa.Column("custom_headers_key_id", sa.Text(), nullable=True),
        sa.Column("custom_header_names", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("tool_allow_list", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("tool_deny_list", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("availability", sa.Text(), server_default="default_off", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "auth_type IN ('none', 'oauth2', 'api_key', 'custom_headers')",
            name=op.f("mcp_server_configs_auth_type_check"),
        ),
        sa.CheckConstraint(
            "availability IN ('force_on', 'default_on', 'default_off')",
            name=op.f("mcp_server_configs_availability_check"),
        ),
        sa.CheckConstraint("transport IN ('streamable_http', 'sse')", name=op.f("mcp_server_configs_transport_check")),
        sa.ForeignKeyConstraint(
            ["api_key_value_key_id"],
            ["dbcrypt_keys.active_key_digest"],
            name=op.f("mcp_server_configs_api_key_value_key_id_fkey"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("mcp_server_configs_created_by_fkey"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["custom_headers_key_id"],
            ["dbcrypt_keys.active_key_digest"],
            name=op.f("mcp_server_configs_custom_headers_key_id_fkey"),
        ),
        sa.ForeignKeyConstraint(
            ["oauth2_client_secret_key_id"],
            ["dbcrypt_keys.active_key_digest"],
            name=op.f("mcp_server_configs_oauth2_client_secret_key_id_fkey"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("mcp_server_configs_updated_by_fkey"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("mcp_server_configs_pkey")),
        sa.UniqueConstraint("slug", name=op.f("mcp_server_configs_slug_key")),
    )
    with op.batch_alter_table("mcp_server_configs", schema=None) as batch_op:
        batch_op.create_index(
            "idx_mcp_server_configs_enabled",
            ["enabled"],
            unique=False,
            postgresql_where=sa.text("enabled = true"),
            sqlite_where=sa.text("enabled = 1"),
        )
        batch_op.create_index(
            "idx_mcp_server_configs_forced",
            ["enabled", "availability"],
            unique=False,
            postgresql_where=sa.text("enabled = true AND availability = 'force_on'"),
            sqlite_where=sa.text("enabled = 1 AND availability = 'force_on'"),
        )

    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("content", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('user', 'assistant', 'system', 'tool')", name=op.f("chat_messages_role_check")),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name=op.f("chat_messages_chat_id_fkey"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("chat_messages_pkey")),
    )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.create_index("ix_chat_messages_chat_id_created_at", ["chat_id", "created_at"], unique=False)

    op.create_table(
        "mcp_oauth2_states",
        sa.Column("state_hash", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("mcp_server_config_id", sa.Uuid(), nullable=False),
        sa.Column("code_verifier", sa.Text(), nullable=False),
        sa.Column("code_verifier_key_id", sa.Text(), nullable=True),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_verifier_key_id"],
            ["dbcrypt_keys.active_key_digest"],
            name=op.f("mcp_oauth2_states_code_verifier_key_id_fkey"),
        ),
        sa.ForeignKeyConstraint(
            ["mcp_server_config_id"],
            ["mcp_server_configs.id"],
            name=op.f("mcp_oauth2_states_mcp_server_config_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("mcp_oauth2_states_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("mcp_oauth2_states_pkey")),
        sa.UniqueConstraint("id", name=op.f("mcp_oauth2_states_id_key")),
    )
    with op.batch_alter_table("mcp_oauth2_states", schema=None) as batch_op:
        batch_op.create_index("ix_mcp_oauth2_states_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "mcp_server_user_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("mcp_server_config_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("access_token_key_id", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), server_default="", nullable=False),
        sa.Column("refresh_token_key_id", sa.Text(), nullable=True),
        sa.Column("token_type", sa.Text(), server_default="Bearer", nullable=False),
        sa.Column("expiry", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_failure_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["access_token_key_id"],
            ["dbcrypt_keys.active_key_digest"],
            name=op.f("mcp_server_user_tokens_access_token_key_id_fkey"),
        ),
        sa.ForeignKeyConstraint(
            ["mcp_server_config_id"],
            ["mcp_server_configs.id"],
            name=op.f("mcp_server_user_tokens_mcp_server_config_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["refresh_token_key_id"],
            ["dbcrypt_keys.active_key_digest"],
            name=op.f("mcp_server_user_tokens_refresh_token_key_id_fkey"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("mcp_server_user_tokens_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("mcp_server_user_tokens_pkey")),
        sa.UniqueConstraint(
            "mcp_server_config_id", "user_id", name=op.f("mcp_server_user_tokens_mcp_server_config_id_user_id_key")
        ),
    )
    with op.batch_alter_table("mcp_server_user_tokens", schema=None) as batch_op:
        batch_op.create_index("idx_mcp_server_user_tokens_user_id", ["user_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("mcp_server_user_tokens", schema=None) as batch_op:
        batch_op.drop_index("idx_mcp_server_user_tokens_user_id")

    op.drop_table("mcp_server_user_tokens")
    with op.batch_alter_table("mcp_oauth2_states", schema=None) as batch_op:
        batch_op.drop_index("ix_mcp_oauth2_states_expires_at")

    op.drop_table("mcp_oauth2_states")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_messages_chat_id_created_at")

    op.drop_table("chat_messages")
    with op.batch_alter_table("mcp_server_configs", schema=None) as batch_op:
        batch_op.drop_index(
            "idx_mcp_server_configs_forced",
            postgresql_where=sa.text("enabled = true AND availability = 'force_on'"),
            sqlite_where=sa.text("enabled = 1 AND availability = 'force_on'"),
        )
        batch_op.drop_index(
            "idx_mcp_server_configs_enabled",
            postgresql_where=sa.text("enabled = true"),
            sqlite_where=sa.text("enabled = 1"),
        )

    op.drop_table("mcp_server_configs")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_index("ix_chats_owner_id")

    op.drop_table("chats")
