"""The server's transport wrapper: a response's header block and body leave in one send."""

from __future__ import annotations

import asyncio
from typing import Any

from devplane.api.http_protocol import _CoalescingTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class RecordingTransport:
    """Records what reaches the socket layer (each call is one send)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


def wrap() -> tuple[RecordingTransport, _CoalescingTransport]:
    raw = RecordingTransport()
    return raw, _CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]


async def test_headers_wait_for_the_body_and_leave_with_it() -> None:
    raw, transport = wrap()
    transport.write(HEAD)
    assert raw.sent == []
    transport.write(b"{}")
    assert raw.sent == [HEAD + b"{}"]  # one send, at once: not at the end of the loop step


async def test_headers_alone_leave_at_the_end_of_the_loop_step() -> None:
    raw, transport = wrap()
    transport.write(HEAD)
    await asyncio.sleep(0)
    assert raw.sent == [HEAD]
    transport.write(b"{}")  # a later body goes straight out
    assert raw.sent == [HEAD, b"{}"]


async def test_close_sends_what_was_held_first() -> None:
    raw, transport = wrap()
    transport.write(HEAD)
    transport.close()
    assert raw.sent == [HEAD]
    assert raw.closed
    await asyncio.sleep(0)
    assert raw.sent == [HEAD]  # the scheduled flush finds nothing left


async def test_other_writes_and_attributes_pass_through() -> None:
    raw, transport = wrap()
    transport.write(b"0\r\n\r\n")
    assert raw.sent == [b"0\r\n\r\n"]
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
    transport.write(HEAD)
    assert transport.get_write_buffer_size() == len(HEAD)  # held bytes count as buffered
