"""Per-process server state, built by the lifespan and read by dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from devplane.config import Settings
from devplane.crypto.keyring import Keyring
from devplane.services.ratelimit import RateLimiter


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    keyring: Keyring
    login_limiter: RateLimiter
    # Later subsystems (MCP pool, pubsub) hang their handles here.
    extras: dict[str, Any] = field(default_factory=dict)
