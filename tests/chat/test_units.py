"""Pure pieces of the chat loop: the tool-result cap, usage sums, the live-event buffer."""

from __future__ import annotations

import uuid

import pytest

from devplane.chat.history import cap_result
from devplane.chat.hub import ChatHub, Evicted
from devplane.chat.loop import add_usage
from devplane.services.chat_stream import parse_position


def test_tool_results_are_capped_with_a_notice_and_images_kept() -> None:
    image = {"type": "image", "data": "A" * 5000, "mimeType": "image/png"}
    content = [{"type": "text", "text": "x" * 3000}, image, {"type": "text", "text": "y" * 3000}]
    capped = cap_result(content, 4000)
    texts = [b["text"] for b in capped if b["type"] == "text"]
    assert texts[0] == "x" * 3000
    assert texts[1] == "y" * 1000
    assert texts[-1] == "[truncated: 4000 of 6000 bytes shown]"
    assert image in capped  # never cut
    assert cap_result(content[:1], 4000) == content[:1]  # under the cap: untouched


def test_usage_sums_keep_unsent_counts_null() -> None:
    total = add_usage(None, {"input_tokens": 3, "output_tokens": None})
    total = add_usage(total, {"input_tokens": 2, "output_tokens": None, "reasoning_tokens": 5})
    assert total is not None
    assert (total["input_tokens"], total["output_tokens"], total["reasoning_tokens"]) == (5, None, 5)
    assert add_usage(total, None) == total


def test_a_slow_subscriber_is_dropped_not_the_turn() -> None:
    hub, chat = ChatHub(max_parts=10), uuid.uuid4()
    waiter = hub.subscribe(chat)
    hub.publish(chat, {"type": "message", "seq": 4})
    for i in range(25):  # the turn never blocks: the buffer keeps the newest 10
        hub.publish(chat, {"type": "message_part", "message_part": {"part": {"type": "text", "text": str(i)}}})
    with pytest.raises(Evicted):
        hub.after(chat, 4, 2)  # it had read up to part 2; 3..15 are gone
    base, events = hub.after(chat, 4, 20)
    assert (base, [n for n, _ in events]) == (4, [21, 22, 23, 24, 25])
    hub.unsubscribe(chat, waiter)


@pytest.mark.parametrize(
    ("value", "position"), [(None, (0, 0)), ("7", (7, 0)), ("7.3", (7, 3)), ("junk", (0, 0)), ("-2.x", (0, 0))]
)
def test_last_event_id_positions(value: str | None, position: tuple[int, int]) -> None:
    assert parse_position(value) == position
