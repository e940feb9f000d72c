"""The chat loop: model providers, model configs, chat settings, and a chat's model.

Revision ID: 0004
Revises: 0003_tool_calls
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003_tool_calls"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "chat_providers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), server_default="", nullable=False),
        sa.Column("base_url", sa.Text(), server_default="", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("api_key", sa.Text(), server_default="", nullable=False),
        sa.Column("api_key_key_id", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "provider IN ('openai', 'anthropic', 'openai-compat', 'echo')", name=op.f("chat_providers_provider_check")
        ),
        sa.ForeignKeyConstraint(
            ["api_key_key_id"],
            ["dbcrypt_keys.active_key_digest"],
            name=op.f("chat_providers_api_key_key_id_fkey"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("chat_providers_created_by_fkey"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("chat_providers_pkey")),
        sa.UniqueConstraint("provider", name=op.f("chat_providers_provider_key")),
    )
    op.create_table(
        "chat_model_configs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), server_default="", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("context_limit", sa.Integer(), nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("context_limit > 0", name=op.f("chat_model_configs_context_limit_check")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["chat_providers.id"], name=op.f("chat_model_configs_provider_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("chat_model_configs_created_by_fkey"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("chat_model_configs_updated_by_fkey"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("chat_model_configs_pkey")),
    )
    with op.batch_alter_table("chat_model_configs", schema=None) as batch_op:
        batch_op.create_index(
            "idx_chat_model_configs_single_default",
            ["is_default"],
            unique=True,
            postgresql_where=sa.text("is_default = true AND deleted_at IS NULL"),
            sqlite_where=sa.text("is_default = 1 AND deleted_at IS NULL"),
        )
        batch_op.create_index(
            "idx_chat_model_configs_provider_model",
            ["provider_id", "model"],
            unique=True,
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )
    op.create_table(
        "chat_settings",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("chat_settings_pkey")),
    )
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model_config_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("chats_model_config_id_fkey"),
            "chat_model_configs",
            ["model_config_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.add_column(sa.Column("status", sa.Text(), server_default="waiting", nullable=False))
        batch_op.add_column(sa.Column("worker_id", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", JSON, nullable=True))
        batch_op.add_column(sa.Column("usage", JSON, nullable=True))
        batch_op.add_column(sa.Column("last_seq", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint("status", "status IN ('waiting', 'pending', 'running', 'error')")
        batch_op.create_index(
            "idx_chats_pending",
            ["status"],
            unique=False,
            postgresql_where=sa.text("status IN ('pending', 'running')"),
            sqlite_where=sa.text("status IN ('pending', 'running')"),
        )
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("model_config_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("usage", JSON, nullable=True))
    op.create_table(
        "chat_queued_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("chat_queued_messages_chat_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("chat_queued_messages_pkey")),
    )
    with op.batch_alter_table("chat_queued_messages", schema=None) as batch_op:
        batch_op.create_index("ix_chat_queued_messages_chat_id_created_at", ["chat_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_queued_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_queued_messages_chat_id_created_at")
    op.drop_table("chat_queued_messages")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_column("usage")
        batch_op.drop_column("model_config_id")
        batch_op.drop_column("seq")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_index("idx_chats_pending")
        batch_op.drop_constraint("status", type_="check")
        batch_op.drop_column("last_seq")
        batch_op.drop_column("usage")
        batch_op.drop_column("last_error")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("worker_id")
        batch_op.drop_column("status")
        batch_op.drop_constraint(batch_op.f("chats_model_config_id_fkey"), type_="foreignkey")
        batch_op.drop_column("model_config_id")
    op.drop_table("chat_settings")
    with op.batch_alter_table("chat_model_configs", schema=None) as batch_op:
        batch_op.drop_index("idx_chat_model_configs_provider_model")
        batch_op.drop_index("idx_chat_model_configs_single_default")
    op.drop_table("chat_model_configs")
    op.drop_table("chat_providers")
