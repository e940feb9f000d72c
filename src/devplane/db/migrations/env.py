"""Alembic environment. Migrations run programmatically (devplane.db.migrate), never via create_all."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from devplane.db.models import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("devplane runs migrations through devplane.db.migrate.upgrade(), with a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite needs batch mode for ALTERs; PostgreSQL runs the same script
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
