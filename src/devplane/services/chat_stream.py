"""A chat's event stream: committed messages from the database, then the live step from the hub.

Positions (SSE ids) are `<seq>` (a committed message) or `<seq>.<n>` (the n-th live event after it).
Resuming from a position sends exactly what followed it: no gap, no duplicate.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from devplane.authz.authorizer import Subject
from devplane.chat.hub import ChatHub, Evicted
from devplane.db.database import Database
from devplane.sdk.chat_stream import ChatStreamEvent, MessagePart, StreamRetry, StreamStatus
from devplane.sdk.chats import ChatError
from devplane.services.chats import message_view

HEARTBEAT_SECONDS = 15.0


def parse_position(value: str | None) -> tuple[int, int]:
    """`Last-Event-ID` -> (seq, n); anything unreadable starts from the beginning."""
    if not value:
        return 0, 0
    seq, _, n = value.partition(".")
    try:
        return max(int(seq), 0), max(int(n or 0), 0)
    except ValueError:
        return 0, 0


def _live_event(chat_id: uuid.UUID, event: dict[str, Any]) -> ChatStreamEvent | None:
    kind = event.get("type")
    if kind == "message_part":
        return ChatStreamEvent(type="message_part", chat_id=chat_id, message_part=MessagePart(**event["message_part"]))
    if kind == "retry":
        return ChatStreamEvent(type="retry", chat_id=chat_id, retry=StreamRetry(**event["retry"]))
    if kind == "error":
        return ChatStreamEvent(type="error", chat_id=chat_id, error=ChatError(**event["error"]))
    if kind == "title_change":
        return ChatStreamEvent(type="title_change", chat_id=chat_id, title=event.get("title", ""))
    return None


async def events(
    db: Database, hub: ChatHub, actor: Subject, chat_id: uuid.UUID, last_event_id: str | None
) -> AsyncIterator[tuple[str, ChatStreamEvent]]:
    """(id, event) pairs until the client goes away. The caller checked the chat is readable."""
    seq, n = parse_position(last_event_id)
    sent_status: tuple[str, Any] | None = None
    sent_queue: list[uuid.UUID] = []  # an empty queue is not news
    waiter = hub.subscribe(chat_id)  # before the first read: nothing committed after it is missed
    try:
        while True:
            if waiter.db_dirty:
                waiter.db_dirty = False
                async with db.read_session() as tx:
                    store = tx.store(actor)
                    chat = await store.get_chat_by_id(chat_id)
                    rows = [r for r in await store.list_chat_messages(chat_id) if r.seq > seq]
                    queue = await store.list_chat_queued_messages(chat_id)
                for row in rows:
                    seq, n = row.seq, 0
                    yield str(seq), ChatStreamEvent(type="message", chat_id=chat_id, message=message_view(row))
                if [q.id for q in queue] != sent_queue:
                    sent_queue = [q.id for q in queue]
                    yield (
                        f"{seq}.{n}",
                        ChatStreamEvent(
                            type="queue_update", chat_id=chat_id, queued_messages=[message_view(q) for q in queue]
                        ),
                    )
                status = (chat.status, chat.last_error)
                if status != sent_status:
                    sent_status = status
                    error = ChatError(**chat.last_error) if chat.last_error else None
                    yield (
                        f"{seq}.{n}",
                        ChatStreamEvent(
                            type="status", chat_id=chat_id, status=StreamStatus(status=chat.status, last_error=error)
                        ),
                    )
            try:
                base, live = hub.after(chat_id, seq, n)
            except Evicted:
                return  # too slow: the client reconnects with its Last-Event-ID
            if base > seq:
                waiter.db_dirty = True  # a step committed since the read: fetch it before its successors
                continue
            for i, event in live:
                n = i
                wire = _live_event(chat_id, event)
                if wire is not None:
                    yield f"{seq}.{n}", wire
            waiter.event.clear()
            if not waiter.db_dirty and not hub.after(chat_id, seq, n)[1]:
                try:
                    await asyncio.wait_for(waiter.event.wait(), timeout=HEARTBEAT_SECONDS)
                except TimeoutError:
                    waiter.db_dirty = True  # a backstop for a missed hint
    finally:
        hub.unsubscribe(chat_id, waiter)
