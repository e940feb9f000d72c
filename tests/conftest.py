"""Shared fixtures. SQLite by default; PostgreSQL when DEVPLANE_TEST_PG_URL is set (CI runs both).

Each test gets a freshly migrated database: a copy of a migrated SQLite template, or on
PostgreSQL the session's migrated database with every table truncated.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from devplane.api.app import create_app, start, stop
from devplane.api.state import AppState
from devplane.config import Settings, to_asyncpg_url
from devplane.crypto.cipher import generate_key
from devplane.crypto.passwords import use_fast_hashing_for_tests
from devplane.db import migrate
from devplane.db.engine import make_engine
from devplane.sdk.client import Client
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME

PG_URL = os.environ.get("DEVPLANE_TEST_PG_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_KEY = generate_key()
# argon2 at production cost makes every login ~0.5 s; tests check behaviour, not KDF strength.
use_fast_hashing_for_tests()


def pytest_report_header() -> str:
    return f"devplane database: {'postgresql' if PG_URL else 'sqlite'}"


# .ci/run's SQLite leg sets this: PostgreSQL-only tests belong to its PostgreSQL leg, which
# runs right after on a database CI creates (and fails if the server is missing).
CI_SQLITE_LEG = os.environ.get("DEVPLANE_CI_LEG", "") == "sqlite"


def require_pg() -> str:
    """For tests that only make sense on PostgreSQL: skip locally, fail in CI's PostgreSQL leg."""
    if not PG_URL:
        if IN_CI and not CI_SQLITE_LEG:
            pytest.fail("DEVPLANE_TEST_PG_URL must be set when CI=true: PostgreSQL tests may not skip in CI")
        pytest.skip("PostgreSQL test: set DEVPLANE_TEST_PG_URL to run it (CI runs it in its PostgreSQL leg)")
    return PG_URL


async def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            names = (
                (
                    await conn.execute(
                        text(
                            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                            "AND tablename <> 'alembic_version'"
                        )
                    )
                )
                .scalars()
                .all()
            )
            if names:
                await conn.execute(text(f"TRUNCATE {', '.join(names)} CASCADE"))
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "devplane.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str | None:
    if not PG_URL:
        return None
    url = to_asyncpg_url(PG_URL)
    asyncio.run(_migrate(url))
    return url


@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path, pg_migrated: str | None) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if pg_migrated:
        asyncio.run(_truncate_all(pg_migrated))
    else:
        shutil.copy(sqlite_template, data_dir / "devplane.db")
    return Settings(
        http_address="127.0.0.1:0",
        access_url="http://devplane.test",
        data_dir=data_dir,
        pg_url=pg_migrated or "",
        experiments=["agents"],
        external_token_encryption_keys=[TEST_KEY],
        login_rate_limit=1000,
        log_level="debug",
    )


@pytest.fixture
async def state(settings: Settings) -> AsyncIterator[AppState]:
    st = await start(settings)
    try:
        yield st
    finally:
        await stop(st)


@pytest.fixture
def app_transport(settings: Settings, state: AppState) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=create_app(settings, state))


@pytest.fixture
async def anon(app_transport: httpx.ASGITransport, settings: Settings) -> AsyncIterator[Client]:
    async with Client(settings.effective_access_url, transport=app_transport) as client:
        yield client


@pytest.fixture
async def owner(anon: Client, app_transport: httpx.ASGITransport, settings: Settings) -> AsyncIterator[Client]:
    """A client logged in as the first user (an owner)."""
    from devplane.sdk.users import CreateFirstUserRequest, LoginRequest

    await anon.create_first_user(
        CreateFirstUserRequest(email=OWNER_EMAIL, username=OWNER_USERNAME, password=OWNER_PASSWORD)
    )
    async with Client(settings.effective_access_url, transport=app_transport) as client:
        await client.login(LoginRequest(email=OWNER_EMAIL, password=OWNER_PASSWORD))
        yield client
