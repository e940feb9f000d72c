"""Coordinator state for replicas (tailnet peers and tunnels, issue 13).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # placeholder: filled in by the change that brings these tables


def downgrade() -> None:
    pass
