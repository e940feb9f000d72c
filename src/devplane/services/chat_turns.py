"""A chat's run state and the moves between states: the one place `chats.status` changes.

States (coder's chatd, "mid"): `waiting` (idle), `pending` (a user message waits for a worker),
`running` (a worker runs the turn), `error` (the last turn failed; `last_error` says why).
Every move goes through `set_status`, under the chat's row lock, and must be in ALLOWED.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from devplane.db.chat_rows import ChatQueuedMessageRow
from devplane.db.mcp_rows import ChatMessageRow, ChatRow
from devplane.db.store import Store
from devplane.errors import BadRequest, Conflict

WAITING, PENDING, RUNNING, ERROR = "waiting", "pending", "running", "error"
MAX_QUEUE = 20

# (from, to): the only moves. running->running is a takeover by another worker after the lease;
# pending->waiting is an interrupt before any worker claimed the chat.
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        (WAITING, PENDING),
        (ERROR, PENDING),
        (PENDING, RUNNING),
        (PENDING, WAITING),
        (RUNNING, RUNNING),
        (RUNNING, WAITING),
        (RUNNING, PENDING),
        (RUNNING, ERROR),
    }
)

# Event types on the pubsub (small hints only; payloads stay far below NOTIFY's limit).
CHAT_PENDING = "chat_pending"  # wake the workers
CHAT_UPDATE = "chat_update"  # {chat_id, seq, status}: streams re-read what was committed
CHAT_INTERRUPT = "chat_interrupt"  # {chat_id}: the replica running it cancels the run


class InvalidTransition(BadRequest):
    pass


async def set_status(
    store: Store,
    chat_id: uuid.UUID,
    to: str,
    *,
    worker_id: str | None = None,
    heartbeat_at: dt.datetime | None = None,
    last_error: dict[str, Any] | None = None,
    expect_worker: str | None = None,
) -> ChatRow | None:
    """Move the chat to `to` under its row lock. Returns None (and changes nothing) when the move is
    not allowed from the current state, or when `expect_worker` is given and another worker owns it."""
    chat = await store.get_chat_by_id(chat_id, for_update=True)
    if (chat.status, to) not in ALLOWED:
        return None
    if expect_worker is not None and chat.worker_id != expect_worker:
        return None
    updated = await store.update_chat_run_state(
        chat_id, to, worker_id=worker_id, heartbeat_at=heartbeat_at, last_error=last_error
    )
    await publish(store, updated)
    if to == PENDING:
        await store.publish_event({"type": CHAT_PENDING, "chat_id": str(chat_id)})
    return updated


async def publish(store: Store, chat: ChatRow) -> None:
    await store.publish_event(
        {"type": CHAT_UPDATE, "chat_id": str(chat.id), "seq": chat.last_seq, "status": chat.status}
    )


def user_content(text: str) -> tuple[dict[str, Any], ...]:
    return ({"type": "text", "text": text},)


async def send(
    store: Store, chat: ChatRow, content: tuple[dict[str, Any], ...], *, start_turn: bool
) -> ChatMessageRow | ChatQueuedMessageRow:
    """Store a user message on a locked chat: into the history (and start a turn) when the chat is
    idle, into the queue when it is busy. `start_turn=False` (no model to answer) only stores it."""
    now = dt.datetime.now(dt.UTC)
    if chat.status in (PENDING, RUNNING):
        if await store.count_chat_queued_messages(chat.id) >= MAX_QUEUE:
            raise Conflict(
                f"The chat's message queue is full ({MAX_QUEUE} messages wait for the current turn).",
                detail="Wait for the turn to finish, or interrupt it.",
            )
        return await store.insert_chat_queued_message(
            ChatQueuedMessageRow(
                id=uuid.uuid4(), chat_id=chat.id, content=content, created_at=now, owner_id=chat.owner_id
            )
        )
    message = await store.insert_chat_message(
        ChatMessageRow(
            id=uuid.uuid4(), chat_id=chat.id, role="user", content=content, created_at=now, owner_id=chat.owner_id
        )
    )
    if start_turn:
        await set_status(store, chat.id, PENDING)
    else:
        await publish(store, await store.get_chat_by_id(chat.id))
    return message


async def end_turn(
    store: Store, chat_id: uuid.UUID, worker_id: str, *, error: dict[str, Any] | None = None
) -> ChatRow | None:
    """The worker's turn is over: promote the oldest queued message (pending), else waiting (or
    error). Partial output is persisted by the caller first, so ids and seqs stay in order."""
    chat = await store.get_chat_by_id(chat_id, for_update=True)
    if chat.worker_id != worker_id or chat.status != RUNNING:
        return None  # taken over meanwhile: the new worker owns the state
    if error is not None:
        return await set_status(store, chat_id, ERROR, last_error=error)
    queued = await store.pop_chat_queued_message(chat_id)
    if queued is None:
        return await set_status(store, chat_id, WAITING)
    await store.insert_chat_message(
        ChatMessageRow(
            id=uuid.uuid4(),
            chat_id=chat_id,
            role="user",
            content=queued.content,
            created_at=dt.datetime.now(dt.UTC),
            owner_id=chat.owner_id,
        )
    )
    return await set_status(store, chat_id, PENDING)


async def request_interrupt(store: Store, chat_id: uuid.UUID) -> ChatRow:
    """Interrupt: a pending chat goes back to waiting here; a running one is cancelled by the replica
    whose worker runs it (told through the pubsub), which then keeps the partial answer and ends the turn."""
    chat = await store.get_chat_by_id(chat_id, for_update=True)
    if chat.status == PENDING:
        return await set_status(store, chat_id, WAITING) or chat
    if chat.status == RUNNING:
        await store.publish_event({"type": CHAT_INTERRUPT, "chat_id": str(chat_id)})
    return chat
