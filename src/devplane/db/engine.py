"""Engine and session factory for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from devplane.db.pubsub import EventSession
from devplane.errors import BadRequest

READONLY = "devplane_readonly"
DEFAULT_TIMEOUT = 5.0


def make_engine(url: str, *, echo: bool = False, timeout: float = DEFAULT_TIMEOUT) -> AsyncEngine:
    """`timeout` bounds every wait for the database: a pooled connection, a new connection, and
    on SQLite the write lock. Past it the request fails (503, db/outage.py) instead of queueing:
    a database that is away must not hold requests for longer (issue 9)."""
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        # Wait for the writer lock instead of failing under concurrent requests, up to `timeout`.
        kwargs["connect_args"] = {"timeout": timeout}
    else:
        kwargs.update(
            pool_size=10,
            max_overflow=20,
            # No pool_pre_ping: on asyncpg it is three round trips (BEGIN, ";", ROLLBACK) per
            # checkout, more than a typical request's own queries. _ping_if_idle below checks
            # only connections that sat idle, where a restart or outage could have killed them.
            pool_timeout=timeout,
            # asyncpg's own connect timeout is 60 s: a host that drops packets would hold requests.
            connect_args={"timeout": timeout},
        )
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "before_cursor_execute", _refuse_nul)
    if not url.startswith("sqlite"):
        event.listen(engine.sync_engine.pool, "checkin", _stamp_checkin)
        event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    if url.startswith("sqlite"):
        busy_ms = max(1, int(timeout * 1000))
        event.listen(engine.sync_engine, "connect", lambda conn, rec: _sqlite_pragmas(conn, rec, busy_ms))
        # pysqlite's own transaction handling defers BEGIN; take the write lock at BEGIN instead
        # so read-then-write transactions can't deadlock into "database is locked".
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    return engine


# A connection back in the pool for longer than this is pinged before reuse (perf, issue 9).
# Under load connections come back within milliseconds and are reused unchecked; one that broke
# anyway fails its request (503), and SQLAlchemy then invalidates every older pooled connection.
IDLE_PING_SECONDS = 1.0
_CHECKED_IN = "devplane_checked_in_at"


def _stamp_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    since = record.info.get(_CHECKED_IN)
    if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
        return  # new (just connected) or recently used
    try:
        dbapi_conn.ping()
    except Exception as exc:
        # The pool discards this connection and retries the checkout with a fresh one.
        raise DisconnectionError(f"idle connection failed its ping: {type(exc).__name__}") from exc


def _refuse_nul(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
    # PostgreSQL text cannot hold U+0000 and the driver error would surface as a 500; refuse such
    # input on both databases alike, as the bad request it is.
    for row in (parameters if executemany else [parameters]) or ():
        values = row.values() if isinstance(row, dict) else row
        if any(isinstance(v, str) and "\x00" in v for v in values or ()):
            raise BadRequest("Text must not contain NUL (U+0000) characters.")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, busy_ms: int) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin_immediate)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={busy_ms}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Read-only sessions (Database.read_session, and requests with a safe method: api/deps.py
    # db_tx) begin deferred: in WAL mode they never wait for, or block, the writer, so readers
    # run side by side while a request holds the lock. Writers begin IMMEDIATE so that a
    # read-then-write transaction never has to upgrade (docs/decisions/0009).
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READONLY) else "BEGIN IMMEDIATE")


def make_session_factory(engine: AsyncEngine, info: dict[str, Any] | None = None) -> async_sessionmaker[AsyncSession]:
    """`info` seeds each session's `info` (Database puts its in-process pubsub there)."""
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=EventSession, info=info or {}
    )
