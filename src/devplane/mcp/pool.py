"""Pool of live upstream sessions keyed by (config, credential fingerprint).

Sessions are reused across calls and users with identical credentials, evicted when idle,
reconnected when dropped, and torn down at once when their config changes, is disabled or
deleted, or their user disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from devplane.mcp.credentials import UpstreamAuth
from devplane.mcp.http1 import HTTPPool
from devplane.mcp.upstream import UpstreamSession, shared_ssl_context

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PoolKey:
    config_id: uuid.UUID
    # Part of the key so a session made before a config change is never reused after it,
    # even before the change notification arrives.
    config_version: str
    fingerprint: str


@dataclass
class PoolSettings:
    connect_timeout: float = 10.0
    call_timeout: float = 60.0
    max_result_bytes: int = 1024 * 1024
    idle_seconds: float = 600.0


class UpstreamPool:
    def __init__(self, settings: PoolSettings) -> None:
        self.settings = settings
        self._sessions: dict[PoolKey, UpstreamSession] = {}
        self._users: dict[PoolKey, set[uuid.UUID]] = {}
        self._locks: dict[PoolKey, asyncio.Lock] = {}
        self._http: HTTPPool | None = None
        self._reaper: asyncio.Task[None] | None = None
        self.on_tools_changed: Callable[[PoolKey], None] = lambda _key: None

    @property
    def open_sessions(self) -> int:
        return sum(1 for s in self._sessions.values() if s.alive)

    def http(self) -> HTTPPool:
        if self._http is None or self._http.closed:
            # One connection pool for every upstream call; keep-alive is what makes the
            # pass-through fast. It keeps no cookies: it is shared by every user.
            self._http = HTTPPool(shared_ssl_context)
        return self._http

    def start(self) -> None:
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap(), name="mcp-pool-reaper")

    async def get(
        self, key: PoolKey, *, url: str, transport: str, auth: UpstreamAuth, user_id: uuid.UUID
    ) -> UpstreamSession:
        session = self._sessions.get(key)
        if session is not None and session.alive:
            self._users.setdefault(key, set()).add(user_id)
            return session
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one connect per key, however many callers arrive at once
            session = self._sessions.get(key)
            if session is not None and session.alive:
                self._users.setdefault(key, set()).add(user_id)
                return session
            if session is not None:
                await self._drop(key)
            session = UpstreamSession(
                url=url,
                transport=transport,
                headers=auth.headers,
                http=self.http(),
                connect_timeout=self.settings.connect_timeout,
                call_timeout=self.settings.call_timeout,
                max_result_bytes=self.settings.max_result_bytes,
                on_tools_changed=lambda: self.on_tools_changed(key),
            )
            await session.connect()
            self._sessions[key] = session
            self._users.setdefault(key, set()).add(user_id)
            return session

    async def _drop(self, key: PoolKey) -> None:
        session = self._sessions.pop(key, None)
        self._users.pop(key, None)
        if session is not None:
            await session.close()

    async def invalidate_config(self, config_id: uuid.UUID, keep_version: str | None = None) -> int:
        """Close the config's sessions, except those made for its version `keep_version`."""
        keys = [k for k in self._sessions if k.config_id == config_id and k.config_version != keep_version]
        for key in keys:
            await self._drop(key)
        return len(keys)

    def has_user(self, config_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return any(k.config_id == config_id and user_id in users for k, users in self._users.items())

    async def invalidate_user(
        self, config_id: uuid.UUID, user_id: uuid.UUID, keep_fingerprint: str | None = None
    ) -> int:
        """Close the user's sessions of the config, except one made with credentials `keep_fingerprint`."""
        keys = [
            k
            for k, users in self._users.items()
            if k.config_id == config_id and user_id in users and k.fingerprint != keep_fingerprint
        ]
        for key in keys:
            await self._drop(key)
        return len(keys)

    async def reset(self) -> None:
        for key in list(self._sessions):
            await self._drop(key)

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, max(self.settings.idle_seconds / 4, 0.05)))
            now = time.monotonic()
            for key, session in list(self._sessions.items()):
                if not session.alive or now - session.last_used > self.settings.idle_seconds:
                    await self._drop(key)

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        await self.reset()
        if self._http is not None:
            await self._http.close()
            self._http = None
