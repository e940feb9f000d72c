"""The MCP tool-call log: one row per governed tool call, sizes only (no arguments or results).

Revision ID: 0003_tool_calls
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_tool_calls"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mcp_tool_calls",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("chat_id", sa.Uuid(), nullable=True),
        sa.Column("mcp_server_config_id", sa.Uuid(), nullable=True),
        sa.Column("server_slug", sa.Text(), nullable=False),
        sa.Column("tool", sa.Text(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("error_class", sa.Text(), server_default="", nullable=False),
        sa.Column("arguments_bytes", sa.Integer(), nullable=False),
        sa.Column("result_bytes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mcp_server_config_id"],
            ["mcp_server_configs.id"],
            name=op.f("mcp_tool_calls_mcp_server_config_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("mcp_tool_calls_user_id_fkey"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("mcp_tool_calls_pkey")),
    )
    with op.batch_alter_table("mcp_tool_calls", schema=None) as batch_op:
        batch_op.create_index("ix_mcp_tool_calls_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_mcp_tool_calls_mcp_server_config_id_created_at", ["mcp_server_config_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_mcp_tool_calls_user_id_created_at", ["user_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mcp_tool_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_mcp_tool_calls_user_id_created_at")
        batch_op.drop_index("ix_mcp_tool_calls_mcp_server_config_id_created_at")
        batch_op.drop_index("ix_mcp_tool_calls_created_at")

    op.drop_table("mcp_tool_calls")
