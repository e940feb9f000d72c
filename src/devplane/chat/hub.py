"""Live events of running turns, per chat, in this replica's memory (coder's "mid" stream buffer).

The turn publishes here and never waits: subscribers read the buffer at their own pace, and one
that falls behind the buffer's start is dropped (it reconnects and resumes by id). Committed
messages are not kept here: streams read them from the database, woken by a local publish or by a
pubsub hint from another replica, so a stream on any replica sees every commit.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

MAX_PARTS = 10_000


@dataclass
class _Live:
    base: int = 0  # seq of the newest committed message when these events began
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    next_n: int = 1
    waiters: set[Waiter] = field(default_factory=set)


class Waiter:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.db_dirty = True  # committed state may have changed: re-read it

    def wake(self, *, db: bool) -> None:
        self.db_dirty = self.db_dirty or db
        self.event.set()


class Evicted(Exception):
    """The subscriber fell behind the buffer: drop it."""


class ChatHub:
    def __init__(self, max_parts: int = MAX_PARTS) -> None:
        self.max_parts = max_parts
        self._chats: dict[uuid.UUID, _Live] = {}

    def _live(self, chat_id: uuid.UUID) -> _Live:
        return self._chats.setdefault(chat_id, _Live())

    # --- publishing (the turn) ------------------------------------------------------------------
    def publish(self, chat_id: uuid.UUID, event: dict[str, Any]) -> None:
        live = self._live(chat_id)
        kind = event.get("type")
        if kind == "message":  # committed: the step's parts are in the database now
            live.base, live.events, live.next_n = int(event["seq"]), [], 1
            self._wake(live, db=True)
            return
        if kind == "status":
            self._wake(live, db=True)
            return
        live.events.append((live.next_n, event))
        live.next_n += 1
        if len(live.events) > self.max_parts:
            del live.events[: len(live.events) - self.max_parts]
        self._wake(live, db=kind in ("error", "queue_update", "title_change"))

    def hint(self, chat_id: uuid.UUID) -> None:
        """Something was committed for the chat (maybe on another replica)."""
        live = self._chats.get(chat_id)
        if live is not None:
            self._wake(live, db=True)

    @staticmethod
    def _wake(live: _Live, *, db: bool) -> None:
        for waiter in live.waiters:
            waiter.wake(db=db)

    # --- subscribing (the streams) ----------------------------------------------------------------
    def subscribe(self, chat_id: uuid.UUID) -> Waiter:
        waiter = Waiter()
        self._live(chat_id).waiters.add(waiter)
        return waiter

    def unsubscribe(self, chat_id: uuid.UUID, waiter: Waiter) -> None:
        live = self._chats.get(chat_id)
        if live is None:
            return
        live.waiters.discard(waiter)
        if not live.waiters and not live.events:
            del self._chats[chat_id]

    def after(self, chat_id: uuid.UUID, seq: int, n: int) -> tuple[int, list[tuple[int, dict[str, Any]]]]:
        """(base, events) of the live step that follow position `seq.n`. Raises Evicted when some
        of them were dropped from the buffer."""
        live = self._chats.get(chat_id)
        if live is None or live.base < seq:
            return seq, []
        start = n if live.base == seq else 0
        events = [(i, e) for i, e in live.events if i > start]
        if live.events and live.events[0][0] > start + 1:
            raise Evicted
        return live.base, events
