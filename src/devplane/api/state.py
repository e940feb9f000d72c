"""Per-process server state, built by the lifespan and read by dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devplane.config import Settings
from devplane.crypto.keyring import Keyring
from devplane.db.database import Database
from devplane.services.ratelimit import RateLimiter


@dataclass
class AppState:
    settings: Settings
    db: Database
    login_limiter: RateLimiter
    # Later subsystems (MCP pool, pubsub) hang their handles here.
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def keyring(self) -> Keyring:
        return self.db.keyring
