"""The WHATWG event-stream parser (devplane.mcp.sse), case by case, and split at every byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devplane.mcp.sse import Event, EventStreamParser


def parse(stream: bytes) -> list[Event]:
    parser = EventStreamParser()
    return parser.feed(stream)


def parse_bytewise(stream: bytes) -> list[Event]:
    parser = EventStreamParser()
    events: list[Event] = []
    for i in range(len(stream)):
        events += parser.feed(stream[i : i + 1])
    return events


PRIMING = (
    b"id: 0c57b1e4\ndata:\n\n"
    b"event: message\nid: 869abcb5\n"
    b'data: {"result":{"content":[{"type":"text","text":"Echo: hi"}]},"jsonrpc":"2.0","id":"dp-7"}\n\n'
)


def test_the_reported_priming_event_is_skipped() -> None:
    events = parse(PRIMING)
    assert events == [
        Event(
            "message",
            b'{"result":{"content":[{"type":"text","text":"Echo: hi"}]},"jsonrpc":"2.0","id":"dp-7"}',
            "869abcb5",
        )
    ]


def test_an_id_without_data_updates_the_last_event_id_only() -> None:
    parser = EventStreamParser()
    assert parser.feed(b"id: 42\n\n") == []
    assert parser.last_event_id == "42"
    assert parser.feed(b"data: x\n\n") == [Event("message", b"x", "42")]  # the id persists


def test_no_data_field_and_empty_data_are_not_dispatched() -> None:
    assert parse(b"event: message\n\n") == []
    assert parse(b"data\n\n") == []  # a field name without a colon: empty value
    assert parse(b"data:\n\n") == []
    assert parse(b"data: \n\n") == []  # the one space is stripped: empty


def test_two_empty_data_lines_make_one_newline() -> None:
    assert parse(b"data:\ndata:\n\n") == [Event("message", b"\n", "")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert parse(b'data: {"a":\ndata: 1}\n\n') == [Event("message", b'{"a":\n1}', "")]


def test_only_one_space_after_the_colon_is_stripped() -> None:
    assert parse(b"data:  two\n\n") == [Event("message", b" two", "")]
    assert parse(b"data:none\n\n") == [Event("message", b"none", "")]
    assert parse(b"data: a:b\n\n") == [Event("message", b"a:b", "")]


def test_event_names_are_reported_and_reset_per_event() -> None:
    events = parse(b"event: endpoint\ndata: /messages?s=1\n\ndata: x\n\n")
    assert events == [Event("endpoint", b"/messages?s=1", ""), Event("message", b"x", "")]


def test_comments_and_unknown_fields_are_ignored() -> None:
    assert parse(b": keep-alive\n\nfoo: bar\ndata: x\n: in between\n\n") == [Event("message", b"x", "")]


@pytest.mark.parametrize(
    ("value", "expected"), [(b"1500", 1500), (b"0", 0), (b"1.5", None), (b"-1", None), (b"", None)]
)
def test_retry_takes_ascii_digits_only(value: bytes, expected: int | None) -> None:
    parser = EventStreamParser()
    parser.feed(b"retry: " + value + b"\n\n")
    assert parser.retry_ms == expected


def test_an_id_with_nul_is_ignored() -> None:
    parser = EventStreamParser()
    parser.feed(b"id: 1\n\nid: a\x00b\n\n")
    assert parser.last_event_id == "1"


def test_an_empty_id_resets_the_last_event_id() -> None:
    parser = EventStreamParser()
    parser.feed(b"id: 1\n\nid\n\n")
    assert parser.last_event_id == ""


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_every_line_end(eol: bytes) -> None:
    stream = b"id: 7" + eol + b"data: a" + eol + b"data: b" + eol + eol
    assert parse(stream) == [Event("message", b"a\nb", "7")]
    assert parse_bytewise(stream) == [Event("message", b"a\nb", "7")]


def test_mixed_line_ends() -> None:
    stream = b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r"
    assert parse(stream) == [Event("message", b"a\nb\nc", ""), Event("message", b"d", "")]
    assert parse_bytewise(stream) == parse(stream)


def test_a_crlf_split_across_chunks_is_one_line_end() -> None:
    parser = EventStreamParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r\n\r") == [Event("message", b"a\nb", "")]
    assert parser.feed(b"\n") == []  # the LF pairs with the CR: no second blank line


def test_a_leading_bom_is_dropped_once() -> None:
    bom = b"\xef\xbb\xbf"
    assert parse(bom + b"data: x\n\n") == [Event("message", b"x", "")]
    assert parse_bytewise(bom + b"data: x\n\n") == [Event("message", b"x", "")]
    # Only at the start: a second BOM is part of a field name, so that line is ignored.
    assert parse(bom + bom + b"data: x\n\ndata: y\n\n") == [Event("message", b"y", "")]


def test_an_event_without_its_blank_line_is_not_dispatched() -> None:
    parser = EventStreamParser()
    assert parser.feed(b"data: incomplete\n") == []
    parser.close()
    assert parser.feed(b"data: next\n\n") == [Event("message", b"next", "")]


def test_a_large_single_line_in_many_chunks() -> None:
    payload = b"x" * 100_000
    parser = EventStreamParser()
    stream = b"data: " + payload + b"\n\n"
    events: list[Event] = []
    for i in range(0, len(stream), 1000):
        events += parser.feed(stream[i : i + 1000])
    assert events == [Event("message", payload, "")]


def test_utf8_data_is_passed_through_as_bytes() -> None:
    text = '{"t":"héllo ✓ 🚀"}'.encode()
    assert parse_bytewise(b"data: " + text + b"\n\n") == [Event("message", text, "")]


_lines = st.lists(
    st.one_of(
        st.builds(lambda v: b"data: " + v, st.binary(max_size=8).filter(lambda b: b"\n" not in b and b"\r" not in b)),
        st.just(b""),
        st.just(b": comment"),
        st.just(b"id: 3"),
        st.just(b"event: other"),
        st.just(b"retry: 10"),
    ),
    max_size=20,
)


@given(lines=_lines, eol=st.sampled_from([b"\n", b"\r", b"\r\n"]), cut=st.integers(min_value=0, max_value=400))
def test_chunking_never_changes_the_events(lines: list[bytes], eol: bytes, cut: int) -> None:
    stream = eol.join(lines) + eol + eol
    whole = parse(stream)
    parser = EventStreamParser()
    split = parser.feed(stream[:cut]) + parser.feed(stream[cut:])
    assert split == whole
    assert parse_bytewise(stream) == whole
