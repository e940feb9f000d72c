"""uvicorn's httptools protocol, with a response's headers and body sent together.

Perf (bench/, docs/benchmarks.md): uvicorn writes a response's status line and headers on
`http.response.start` and the body on `http.response.body`: two sends, so two TCP segments and
on loopback two wake-ups of the client for one small answer (the MCP gateway's usual case).
The header block is held until the next write (the body, normally in the same loop step) and
both leave in one send. If no write follows in this loop step (a streamed body still being
made), the headers go out alone at the end of the step: nothing waits on a timer, so this is
not Nagle. Everything after the header block is written at once, so a response's last bytes
are never held behind work done after it (the access log, the tool-call log).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _CoalescingTransport:
    """Wraps the connection's transport: a header block waits for the write that follows it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held + bytes(data))
        elif data[:5] == b"HTTP/":  # uvicorn writes a status line and its headers in one piece
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
        else:
            self._transport.write(data)

    def _flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self._flush()  # asyncio sends what was written before the close, so must we
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def __getattr__(self, name: str) -> Any:
        # Everything else (get_extra_info, pause_reading, is_closing, ...) is the transport's.
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
