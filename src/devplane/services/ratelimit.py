"""In-process sliding-window limiter for login attempts (per account and per client address)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def _prune(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            # Keep the dict from growing with every address ever seen.
            self._hits.pop(key, None)
            hits = self._hits.setdefault(key, deque())
        return hits

    def retry_after(self, *keys: str) -> int:
        """Seconds until an attempt is allowed for all keys; 0 when allowed now."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            hits = self._prune(key, now)
            if len(hits) >= self.limit:
                wait = max(wait, hits[0] + self.window - now)
            if not hits:
                self._hits.pop(key, None)
        return math.ceil(wait) if wait > 0 else 0

    def hit(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            self._prune(key, now).append(now)

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)
