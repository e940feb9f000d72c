"""What the fault scenarios share: `devplane server` subprocesses, a fresh database each, an
owner to drive the API, and latency figures.

Every process is started here and stopped by its PID (bench.gateway.Proc); every loop is
bounded by a count or a deadline. A scenario that cannot run on this database raises `Skipped`
(the runner prints the reason); one that misses its bar raises AssertionError.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.gateway import LOOPBACK, Proc, child_env, free_port, percentile, wait_healthy
from devplane.config import to_asyncpg_url
from devplane.crypto.cipher import generate_key
from devplane.sdk.client import Client
from devplane.sdk.users import CreateFirstUserRequest, LoginRequest


class Skipped(Exception):
    """The scenario does not apply here (e.g. it needs PostgreSQL); the message says why."""


def say(scenario: str, message: str) -> None:
    print(f"[faults:{scenario}] {message}", file=sys.stderr, flush=True)


@dataclass
class Database:
    """Where the servers of one scenario keep their data: a data dir (SQLite) or a database URL."""

    data_dir: Path
    pg_url: str | None
    keys: list[str] = field(default_factory=lambda: [generate_key()])

    def env(self) -> dict[str, str]:
        env = {
            "DEVPLANE_DATA_DIR": str(self.data_dir),
            "DEVPLANE_EXTERNAL_TOKEN_ENCRYPTION_KEYS": ",".join(self.keys),
        }
        if self.pg_url:
            env["DEVPLANE_PG_URL"] = self.pg_url
        return env


@contextlib.asynccontextmanager
async def fresh_database(tmp: Path, pg_url: str | None) -> AsyncIterator[Database]:
    """A data dir, and on PostgreSQL a new database on the given server (dropped afterwards),
    so scenarios neither see nor leave each other's rows."""
    data_dir = tmp / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not pg_url:
        yield Database(data_dir=data_dir, pg_url=None)
        return
    name = f"devplane_faults_{uuid.uuid4().hex[:12]}"
    # CREATE/DROP DATABASE cannot run in a transaction: autocommit.
    admin = create_async_engine(to_asyncpg_url(pg_url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        base, _, _ = pg_url.rpartition("/")
        try:
            yield Database(data_dir=data_dir, pg_url=f"{base}/{name}")
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@dataclass
class Server:
    proc: Proc
    url: str


def start_server(tmp: Path, name: str, db: Database, **extra_env: str) -> Server:
    port = free_port()
    env = child_env()
    env.update(db.env())
    env.update(
        DEVPLANE_HTTP_ADDRESS=f"{LOOPBACK}:{port}",
        DEVPLANE_EXPERIMENTS="agents",
        DEVPLANE_LOG_LEVEL="warning",
        DEVPLANE_LOGIN_RATE_LIMIT="100000",
    )
    env.update(extra_env)
    devplane = Path(sys.executable).parent / "devplane"
    proc = Proc(name, [str(devplane), "server"], env, tmp / f"{name}.log")
    return Server(proc=proc, url=f"http://{LOOPBACK}:{port}")


async def ready(server: Server) -> Server:
    await wait_healthy(server.proc, server.url)
    return server


@dataclass
class Owner:
    token: str
    username: str = "faults"


async def make_owner(url: str) -> Owner:
    email, username, password = "faults@example.com", "faults", f"Faults-{secrets.token_urlsafe(12)}-9a"
    async with Client(url, timeout=30.0) as client:
        await client.create_first_user(CreateFirstUserRequest(email=email, username=username, password=password))
        await client.login(LoginRequest(email=email, password=password))
        # An API key: it outlives sessions, and every replica accepts it.
        return Owner(token=await client.create_api_key("me"), username=username)


def latency_figures(prefix: str, seconds: list[float]) -> dict[str, float | int | str]:
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        return {f"{prefix}_count": 0}
    return {
        f"{prefix}_count": len(ms),
        f"{prefix}_p50_ms": round(percentile(ms, 0.50), 2),
        f"{prefix}_p99_ms": round(percentile(ms, 0.99), 2),
        f"{prefix}_max_ms": round(ms[-1], 2),
    }
