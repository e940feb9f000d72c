"""Database handle: engine, migrations and transactions. The api and services never import
SQLAlchemy; they hold a `Database` and open `Tx` objects that hand out store stacks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from devplane.authz.authorizer import Subject
from devplane.crypto.keyring import Keyring
from devplane.db import crypt_store, migrate, outage
from devplane.db.authz_store import AuthzStore
from devplane.db.crypt_store import CryptStore
from devplane.db.engine import DEFAULT_TIMEOUT, READONLY, make_engine, make_session_factory
from devplane.db.pubsub import LOCAL_PUBSUB, InProcessPubSub, PostgresPubSub, PubSub
from devplane.db.sql_store import SqlStore
from devplane.db.stack import system_stack
from devplane.db.store import Store


@dataclass
class Tx:
    """One transaction. Build stores from it; the owner commits or rolls back once."""

    session: AsyncSession
    keyring: Keyring
    # False for a read session: on SQLite it began deferred, so it must not write (api/deps.py
    # puts the few writes a read request makes, such as last-used stamps, in a short tx of their own).
    writer: bool = True

    def store(self, actor: Subject) -> Store:
        return crypt_store.wrap(AuthzStore(SqlStore(self.session), actor), self.keyring)

    def system(self, reason: str) -> CryptStore:
        return system_stack(self.session, self.keyring, reason)

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


class Database:
    def __init__(self, url: str, keyring: Keyring, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.keyring = keyring
        self.timeout = timeout  # every wait for the database (engine.make_engine)
        self.engine: AsyncEngine = make_engine(url, timeout=timeout)
        # Change events for this database's dialect (db/pubsub.py). Idle until someone start()s it:
        # the server does, CLI commands don't.
        self.pubsub: PubSub
        info: dict[str, object] = {}
        if self.dialect == "postgresql":
            dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.pubsub = PostgresPubSub(dsn)
        else:
            self.pubsub = local = InProcessPubSub()
            info[LOCAL_PUBSUB] = local  # so a committing session can hand its events over
        self.session_factory: async_sessionmaker[AsyncSession] = make_session_factory(self.engine, info)
        self._read_factory = make_session_factory(self.engine.execution_options(**{READONLY: True}), info)
        self._write_gate = asyncio.Lock()  # SQLite: writing requests take turns (request_session)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self) -> None:
        await migrate.upgrade(self.engine)

    async def ping(self) -> None:
        """Read from the database within `timeout`, or raise (the readiness check, /readyz).
        `PRAGMA schema_version` reads the SQLite file's header (a bare SELECT 1 would not touch it)."""
        probe = "PRAGMA schema_version" if self.dialect == "sqlite" else "SELECT 1"
        async with asyncio.timeout(self.timeout), self._read_factory() as session:
            await session.execute(text(probe))

    async def dispose(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Tx]:
        """A transaction the caller commits (or not); rolled back if left open."""
        async with self.session_factory() as session:
            yield Tx(session, self.keyring)

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[Tx]:
        """A transaction for reads only. On SQLite it does not take the write lock, so it can run
        while another transaction (e.g. the current request's) holds it."""
        async with self._read_factory() as session:
            yield Tx(session, self.keyring, writer=False)

    @asynccontextmanager
    async def request_session(self, *, write: bool) -> AsyncIterator[Tx]:
        """`session()` for a request that may write, `read_session()` for one that should not.

        On SQLite, writing requests queue in this process, first come first served, before
        they ask for the database's write lock: SQLite's own wait (busy_timeout) polls with
        growing sleeps, so under load some writers starve while others overtake, and the tail
        latency went to seconds. A writer that cannot get its turn within `timeout` fails like
        one that could not get the lock (503, db/outage.py)."""
        if not write:
            async with self._read_factory() as session:
                yield Tx(session, self.keyring, writer=False)
            return
        gate = self._write_gate if self.dialect == "sqlite" else None
        if gate is not None:
            try:
                async with asyncio.timeout(self.timeout):
                    await gate.acquire()
            except TimeoutError:
                raise outage.DatabaseUnavailable(detail="Timed out waiting for the database's write lock.") from None
        try:
            async with self.session_factory() as session:
                yield Tx(session, self.keyring, writer=True)
        finally:
            if gate is not None:
                gate.release()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A transaction committed on success and rolled back on error."""
        async with self.session_factory() as session, session.begin():
            yield Tx(session, self.keyring)
