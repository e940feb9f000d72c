"""db/outage.py: which failures mean "the database is away" (503) and which are bugs (500)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from devplane.db import outage


def _wrapped(orig: BaseException, kind: type[sa_exc.DBAPIError] = sa_exc.OperationalError) -> BaseException:
    return kind("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(sqlite3.OperationalError("database is locked")),
        _wrapped(sqlite3.OperationalError("unable to open database file")),
        sa_exc.TimeoutError("QueuePool limit of size 10 overflow 20 reached"),
        _wrapped(ConnectionResetError(104, "reset"), sa_exc.InterfaceError),
        ExceptionGroup("task group", [ValueError("x"), sa_exc.TimeoutError("pool")]),
    ],
)
def test_database_away(error: BaseException) -> None:
    assert outage.is_unavailable(error)


def _raise_refused() -> None:
    raise ConnectionRefusedError(111, "Connection refused")


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(sqlite3.OperationalError("no such table: users")),
        _wrapped(sqlite3.IntegrityError("UNIQUE constraint failed"), sa_exc.IntegrityError),
        RuntimeError("a bug"),
        ValueError("bad"),
    ],
)
def test_bugs_are_not_outages(error: BaseException) -> None:
    assert not outage.is_unavailable(error)


def test_a_refused_connection_outside_database_code_is_not_an_outage() -> None:
    # An MCP upstream (or anything else) refusing a connection is not the database being away.
    with pytest.raises(ConnectionRefusedError) as caught:
        _raise_refused()
    assert not outage.is_unavailable(caught.value)


def _raise_chained() -> None:
    try:
        raise sa_exc.TimeoutError("pool")
    except sa_exc.TimeoutError as inner:
        raise RuntimeError("while handling") from inner


def test_a_cause_chain_is_followed() -> None:
    with pytest.raises(RuntimeError) as caught:
        _raise_chained()
    assert outage.is_unavailable(caught.value)
