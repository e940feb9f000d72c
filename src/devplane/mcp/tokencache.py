"""A short-lived cache of devplane token checks for the gateway's hot path.

A gateway call must not cost a database round trip; a revoked or expired token still stops
working within `ttl` seconds (default 5).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
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


class TokenCache:
    def __init__(self, db: Database, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.db = db
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[CachedIdentity, float]] = {}

    async def identify(self, token: str) -> CachedIdentity:
        # Keyed by a hash so the cache never holds a usable token.
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        hit = self._entries.get(digest)
        if hit is not None and hit[1] > now and hit[0].key_expires_at > dt.datetime.now(dt.UTC):
            return hit[0]
        async with self.db.transaction() as tx:
            user, key = await auth.authenticate(tx.store(Subject(user_id=None, roles=())), token)
        identity = CachedIdentity(Subject(user_id=user.id, roles=user.roles), user.username, key.expires_at)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded; a full cache only costs one DB read per token
        self._entries[digest] = (identity, now + self.ttl)
        return identity

    def forget_all(self) -> None:
        self._entries.clear()


__all__ = ["CachedIdentity", "TokenCache", "Unauthorized"]
