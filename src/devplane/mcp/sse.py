"""A WHATWG event-stream parser (https://html.spec.whatwg.org/multipage/server-sent-events.html).

Pure and incremental: feed it bytes as they arrive, get whole events back. The pass-through
(mcp/upstream.py) reads MCP answers with it. The rules that matter for MCP servers in the wild:
a *priming event* (an id with empty data, MCP 2025-11-25) is not a message; `data:` may span
lines; line ends are CR, LF or CRLF, even mixed; a leading BOM is dropped; `event:` names other
than `message` are not ours; `retry:` sets the reconnection delay; `id:` sets the last event id,
which persists across events (it is what a resume sends as `Last-Event-ID`).

Bytes, not text: data is UTF-8 JSON for MCP and the JSON parser takes bytes, so decoding is left
to it (a field's value is split on bytes 0x0A/0x0D/0x3A only, which never occur inside a
multi-byte UTF-8 sequence).
"""

from __future__ import annotations

from typing import NamedTuple

BOM = b"\xef\xbb\xbf"


class Event(NamedTuple):
    """One dispatched event: its type (`message` by default), data and the last event id then."""

    type: str
    data: bytes
    id: str


class EventStreamParser:
    """Incremental parser. `feed(chunk)` returns the events completed by that chunk.

    Per the spec, an event whose data buffer is empty is not dispatched, whatever its id or type
    (its `id` still updates `last_event_id`). A `retry:` with only ASCII digits sets `retry_ms`.
    """

    def __init__(self) -> None:
        self.last_event_id = ""
        self.retry_ms: int | None = None
        self._pending = bytearray()  # bytes after the last complete line
        self._started = False  # the BOM check happens once, on the stream's first bytes
        self._skip_lf = False  # the previous chunk ended with CR: a LF first in this one is its pair
        self._data: list[bytes] = []
        self._type = b""
        self._has_data = False

    def feed(self, chunk: bytes) -> list[Event]:
        if not chunk:
            return []
        if not self._started:
            head = bytes(self._pending) + chunk if self._pending else chunk
            if len(head) < len(BOM) and BOM.startswith(head):
                self._pending = bytearray(head)  # maybe a BOM split across chunks: wait for more
                return []
            self._pending.clear()
            self._started = True
            chunk = head[len(BOM) :] if head.startswith(BOM) else head
        if b"\n" not in chunk and b"\r" not in chunk:
            # Mid-line (a large result's one `data:` line arrives in many chunks): only collect.
            self._pending += chunk
            self._skip_lf = False
            return []
        buffer = bytes(self._pending) + chunk if self._pending else chunk
        self._pending.clear()
        if self._skip_lf and buffer[:1] == b"\n":
            buffer = buffer[1:]
        self._skip_lf = False
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):
                self._skip_lf = True  # a line end; a LF first in the next chunk belongs to it
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        # One split per chunk, not a search per line: the usual answer is one small chunk.
        *lines, rest = buffer.split(b"\n")
        if rest:
            self._pending += rest
        events: list[Event] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> None:
        """The stream ended: an incomplete event (no blank line after it) is discarded, per spec."""
        self._pending.clear()
        self._reset_event()

    def _line(self, line: bytes) -> Event | None:
        if line.startswith(b"data:"):  # the usual line first
            value = line[5:]
            self._data.append(value[1:] if value[:1] == b" " else value)
            self._has_data = True
            return None
        if not line:
            return self._dispatch()
        if line[:1] == b":":
            return None  # a comment (keep-alives are comments)
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]  # one space after the colon, once
        if name == b"data":
            self._data.append(value)
            self._has_data = True
        elif name == b"event":
            self._type = value
        elif name == b"id":
            if b"\x00" not in value:
                self.last_event_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():  # bytes.isdigit is ASCII digits only
            self.retry_ms = int(value)
        return None  # any other field is ignored

    def _dispatch(self) -> Event | None:
        if not self._has_data:
            self._type = b""
            return None
        data = b"\n".join(self._data)
        kind = self._type.decode("utf-8", "replace") or "message"
        self._reset_event()
        if not data:
            return None  # `data:` with nothing after it: the priming event, never a message
        return Event(kind, data, self.last_event_id)

    def _reset_event(self) -> None:
        self._data = []
        self._type = b""
        self._has_data = False
