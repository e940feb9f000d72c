"""Workspace proxies, regions, health (issue 14).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # placeholder: filled in by the change that brings these tables


def downgrade() -> None:
    pass
