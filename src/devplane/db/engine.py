"""Engine and session factory for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from devplane.db.pubsub import EventSession
from devplane.errors import BadRequest

READONLY = "devplane_readonly"


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        # Wait for the writer lock instead of failing under concurrent requests.
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "before_cursor_execute", _refuse_nul)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take the write lock at BEGIN instead
        # so read-then-write transactions can't deadlock into "database is locked".
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    return engine


def _refuse_nul(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
    # PostgreSQL text cannot hold U+0000 and the driver error would surface as a 500; refuse such
    # input on both databases alike, as the bad request it is.
    for row in (parameters if executemany else [parameters]) or ():
        values = row.values() if isinstance(row, dict) else row
        if any(isinstance(v, str) and "\x00" in v for v in values or ()):
            raise BadRequest("Text must not contain NUL (U+0000) characters.")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin_immediate)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Read-only sessions (Database.read_session) begin deferred: in WAL mode they never wait
    # for, or block, the writer, so background readers can run while a request holds the lock.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READONLY) else "BEGIN IMMEDIATE")


def make_session_factory(engine: AsyncEngine, info: dict[str, Any] | None = None) -> async_sessionmaker[AsyncSession]:
    """`info` seeds each session's `info` (Database puts its in-process pubsub there)."""
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=EventSession, info=info or {}
    )
