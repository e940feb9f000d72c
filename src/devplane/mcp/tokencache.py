"""A short-lived cache of devplane token checks for the gateway's hot path.

A gateway call must not cost a database round trip; a revoked or expired token still stops
working within `ttl` seconds (default 5).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
import uuid
from dataclasses import dataclass

from devplane.authz.authorizer import Subject
from devplane.db.database import Database
from devplane.errors import Unauthorized
from devplane.services import auth


@dataclass(frozen=True)
class CachedIdentity:
    actor: Subject
    username: str
    key_expires_at: dt.datetime
    # OAuth2 provider (issue 12): set for OAuth access tokens, which work on the gateway only.
    oauth2_app_id: uuid.UUID | None = None
    audience: str = ""


class TokenCache:
    def __init__(self, db: Database, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.db = db
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[CachedIdentity, float]] = {}
        # Perf (bench/): one database check per token at a time. When an entry expires under load,
        # every request in flight with that token used to run its own check (32 at concurrency 32).
        self._pending: dict[str, asyncio.Task[CachedIdentity]] = {}
        self._generation = 0  # bumped by forget_all: a check that began before it stores nothing

    async def identify(self, token: str) -> CachedIdentity:
        # Keyed by a hash so the cache never holds a usable token.
        digest = hashlib.sha256(token.encode()).hexdigest()
        hit = self._entries.get(digest)
        if hit is not None and hit[1] > time.monotonic() and hit[0].key_expires_at > dt.datetime.now(dt.UTC):
            return hit[0]
        pending = self._pending.get(digest)
        if pending is None:
            # A task of its own, so a caller that goes away does not cancel the others' check.
            pending = asyncio.get_running_loop().create_task(self._check(token, digest))
            self._pending[digest] = pending
            pending.add_done_callback(lambda task: self._done(digest, task))
        return await asyncio.shield(pending)

    async def _check(self, token: str, digest: str) -> CachedIdentity:
        generation, now = self._generation, time.monotonic()
        async with self.db.transaction() as tx:
            user, key = await auth.authenticate(tx.store(Subject(user_id=None, roles=())), token)
        identity = CachedIdentity(
            Subject(user_id=user.id, roles=user.roles), user.username, key.expires_at, key.oauth2_app_id, key.audience
        )
        if generation == self._generation:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # crude but bounded; a full cache only costs one DB read per token
            self._entries[digest] = (identity, now + self.ttl)
        return identity

    def _done(self, digest: str, task: asyncio.Task[CachedIdentity]) -> None:
        if self._pending.get(digest) is task:
            del self._pending[digest]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone away

    def forget_all(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._pending.clear()


__all__ = ["CachedIdentity", "TokenCache", "Unauthorized"]
