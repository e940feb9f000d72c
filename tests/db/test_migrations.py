"""ORM models and Alembic migrations agree, and every migration goes down and up again.

Runs on whichever database the suite runs on: SQLite by default, PostgreSQL when
DEVPLANE_TEST_PG_URL is set (CI runs both legs).
"""

from __future__ import annotations

import re
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from devplane.config import Settings
from devplane.db import migrate
from devplane.db.engine import make_engine
from devplane.db.models import Base


def _normalise_default(text: str | None) -> str:
    value = (text or "").strip()
    while value.startswith("(") and value.endswith(")"):
        value = value[1:-1].strip()
    value = re.sub(r"::[a-z ]+$", "", value)  # PostgreSQL reflects ''::text
    return {"true": "1", "false": "0"}.get(value.lower(), value).strip("'")


def _server_default_differs(
    _ctx: Any, _insp_col: Any, _meta_col: Any, insp_default: str | None, _meta: Any, rendered: str | None
) -> bool:
    # Alembic's own comparison reports '' vs "''" on SQLite; compare the normalised literals.
    return _normalise_default(insp_default) != _normalise_default(rendered)


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": _server_default_differs,
            "target_metadata": Base.metadata,
        },
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def _assert_models_match(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
            tables = await conn.run_sync(_tables)
        assert diff == [], f"models and migrations disagree (write a migration):\n{diff}"
        assert tables == set(Base.metadata.tables), "migrated tables differ from the models' tables"
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_models_match_a_freshly_migrated_database(settings: Settings) -> None:
    # The settings fixture hands out a database migrated to head by the real migrations.
    await _assert_models_match(settings.database_url)


async def test_single_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1, f"migration branches need a merge: {script.get_heads()}"


async def test_upgrade_downgrade_base_upgrade(settings: Settings) -> None:
    url = settings.database_url
    engine = make_engine(url)
    try:
        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == set(), "downgrade to base left tables behind"
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()
    await _assert_models_match(url)


async def test_each_migration_steps_up_and_down(settings: Settings) -> None:
    url = settings.database_url
    revisions = _revisions()
    assert revisions, "no migrations found"
    engine = make_engine(url)
    try:
        await migrate.downgrade(engine, "base")
        for revision in revisions:
            await migrate.upgrade(engine, revision)
            assert await migrate.current_revision(engine) == revision
        for previous in [*reversed(revisions[:-1]), None]:
            await migrate.downgrade(engine, "-1")
            assert await migrate.current_revision(engine) == previous
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    await _assert_models_match(url)
