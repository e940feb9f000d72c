"""The chat status machine: every (from, to) pair, and only the listed moves change anything.

The table is written out by hand (not derived from ALLOWED), so a move added by accident fails here.
"""

from __future__ import annotations

import itertools

import pytest

from devplane.api.state import AppState
from devplane.sdk.chats import CreateChatRequest
from devplane.sdk.client import Client
from devplane.services import chat_turns

STATES = ("waiting", "pending", "running", "error")
EXPECTED_MOVES = {
    ("waiting", "pending"),  # a message starts a turn
    ("error", "pending"),  # a message after a failed turn
    ("pending", "running"),  # a worker claims it
    ("pending", "waiting"),  # interrupted before any worker claimed it
    ("running", "running"),  # another worker takes over after the lease
    ("running", "waiting"),  # the turn ended (or was interrupted)
    ("running", "pending"),  # ended with a queued message, or handed back at shutdown
    ("running", "error"),  # the turn failed
}


def test_allowed_moves_are_exactly_the_table() -> None:
    assert set(chat_turns.ALLOWED) == EXPECTED_MOVES


@pytest.mark.parametrize(("start", "to"), list(itertools.product(STATES, STATES)))
async def test_set_status_applies_only_allowed_moves(owner: Client, state: AppState, start: str, to: str) -> None:
    chat = await owner.create_chat(CreateChatRequest(mcp_server_ids=[]))
    worker = state.extras["chat_worker"]
    await worker.stop()  # nothing may claim the chat while the test moves it by hand
    async with state.db.transaction() as tx:
        await tx.system("test: put a chat in a state").update_chat_run_state(
            chat.id, start, worker_id="w", heartbeat_at=None, last_error=None
        )
    async with state.db.transaction() as tx:
        moved = await chat_turns.set_status(tx.system("test: move a chat"), chat.id, to)
    after = (await owner.chat(chat.id)).status
    if (start, to) in EXPECTED_MOVES:
        assert moved is not None
        assert after == to
    else:
        assert moved is None
        assert after == start
