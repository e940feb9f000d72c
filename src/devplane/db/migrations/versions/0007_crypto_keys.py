"""Signing keys (cryptokeys) for app tokens (issue 14).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # placeholder: filled in by the change that brings these tables


def downgrade() -> None:
    pass
