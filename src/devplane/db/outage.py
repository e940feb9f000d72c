"""Telling "the database is away" from a bug: the first is a 503 the client may retry, the
second a 500 (api/errors.py). Only db/ knows SQLAlchemy's and the drivers' exception types.

Away means: no connection could be had in time (pool timeout, connect refused or timed out), the
connection broke under a statement, or SQLite could not get its lock or open its file in time.
A constraint violation, a syntax error or a missing table is not an outage: those stay 500s.
"""

from __future__ import annotations

import asyncio
import sqlite3

# asyncpg ships no type information; only its exception classes are used here.
import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import exc as sa_exc

from devplane.errors import DomainError

RETRY_AFTER_SECONDS = 5
# SQLite's own words for a database it cannot use right now (sqlite3.OperationalError texts).
_SQLITE_AWAY = ("database is locked", "database table is locked", "unable to open", "disk i/o error", "readonly")
# Where a raw network error must come from to mean the database (see _away).
_DATABASE_CODE = ("/asyncpg/", "/sqlalchemy/", "/aiosqlite/", "/devplane/db/")
_ASYNCPG_AWAY: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,  # includes CannotConnectNowError
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# The exception types an outage can surface as, for exception handlers to register.
EXCEPTION_TYPES: tuple[type[Exception], ...] = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.PostgresError,
    asyncpg.exceptions.InterfaceError,
)


class DatabaseUnavailable(DomainError):
    """Raised by our own code when it finds the database away (the readiness probe)."""

    status_code = 503
    default_message = "The database is unavailable. Try again shortly."

    def __init__(self, message: str | None = None, *, detail: str | None = None) -> None:
        super().__init__(message, detail=detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def is_unavailable(error: BaseException) -> bool:
    """True if `error`, or what caused it, says the database cannot be reached or used now."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending and len(seen) < 16:  # bounded: cause chains are short, but could loop
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _away(current):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend((getattr(current, "orig", None), current.__cause__, current.__context__))
    return False


def _away(error: BaseException) -> bool:
    if isinstance(error, sa_exc.TimeoutError):  # the pool had no connection within its timeout
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.InterfaceError):  # the driver's connection is closed or broken
        return True
    if isinstance(error, (sqlite3.OperationalError, sa_exc.OperationalError)):
        text = str(getattr(error, "orig", None) or error).lower()
        return any(marker in text for marker in _SQLITE_AWAY) or _is_postgres(error)
    if isinstance(error, _ASYNCPG_AWAY):
        return True
    # Connecting: refused, reset or timed out. asyncpg raises these as they are and SQLAlchemy
    # does not wrap them, so they count only when raised from the drivers' or the pool's code
    # (an MCP upstream's refused connection is not the database being away).
    network = isinstance(error, (ConnectionError, TimeoutError, asyncio.TimeoutError)) or (
        isinstance(error, OSError) and error.errno is not None
    )
    return network and _raised_by_database_code(error)


def _raised_by_database_code(error: BaseException) -> bool:
    tb = error.__traceback__
    for _ in range(200):  # bounded walk of the traceback's frames
        if tb is None:
            return False
        filename = tb.tb_frame.f_code.co_filename
        if any(part in filename for part in _DATABASE_CODE):
            return True
        tb = tb.tb_next
    return False


def _is_postgres(error: BaseException) -> bool:
    # On PostgreSQL an OperationalError is a connection-level failure (asyncpg's adapter maps
    # query errors to ProgrammingError/IntegrityError/...); on SQLite it can be a bug too.
    orig = getattr(error, "orig", None)
    return orig is not None and type(orig).__module__.startswith("sqlalchemy.dialects.postgresql")
