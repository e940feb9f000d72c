"""A lean HTTP/1.1 client for the MCP pass-through's hot path (docs/decisions/0005).

The pass-through needs one thing: POST a small JSON-RPC body on a kept-alive connection and
read the answer as it arrives. aiohttp did that at about a third of the gateway's CPU per call
(tracing hooks, cookie and redirect handling, payload registries, a task to drain each SSE
answer); this does it with httptools, uvicorn's parser, on asyncio protocols.

Deliberately small: HTTP/1.1 only, no redirects, no proxies, no compression, and no cookies (the
pool is shared by every user: a cookie from one user's call must never ride on another's). TLS
goes through the caller's verifying context.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools


class HTTPClientError(Exception):
    """The exchange failed below HTTP: no complete answer."""


class ConnectFailed(HTTPClientError):
    """No connection could be made, so the request was never sent (safe to send elsewhere)."""


class ConnectionClosed(HTTPClientError):
    """The connection ended before the whole answer arrived: the request may have been processed."""


class MalformedResponse(HTTPClientError):
    """The peer's bytes are not an HTTP/1.x response."""


@dataclass(frozen=True)
class Target:
    """Where requests go: the connection's origin and the request line's path."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent on the request line

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.scheme, parts.hostname, port, path)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def encode_headers(headers: dict[str, str]) -> bytes:
    """Header lines for a request. CR or LF in a name or value would split the request: refused."""
    lines = []
    for name, value in headers.items():
        if any(c in name for c in "\r\n:") or any(c in value for c in "\r\n"):
            raise ValueError(f"header {name.strip()[:40]!r} contains a line break or a colon in its name")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")  # UnicodeEncodeError (a ValueError) past latin-1


class Response:
    """One answer. Read its body with `chunks()`, then `release()` (or `close()`) it."""

    def __init__(self, conn: _Connection, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers  # lower-case names; a repeated header keeps its last value
        self._conn = conn

    @property
    def complete(self) -> bool:
        """The whole body has arrived (what is not yet read is buffered)."""
        return self._conn.complete

    async def chunks(self) -> AsyncIterator[bytes]:
        while chunk := await self._conn.next_chunk():
            yield chunk

    def release(self, *, drain_bytes: int = 1024 * 1024, drain_seconds: float = 5.0) -> None:
        """Give the connection back. An unfinished body is read and discarded in the background
        (up to `drain_bytes`, for `drain_seconds`) so the connection can still be reused: an SSE
        answer usually ends just after the event the caller needed."""
        self._conn.finish(drain_bytes, drain_seconds)

    def close(self) -> None:
        self._conn.close()


class _Connection(asyncio.Protocol):
    def __init__(self, pool: HTTPPool, origin: tuple[str, str, int], max_buffer: int) -> None:
        self._pool = pool
        self.origin = origin
        self._max_buffer = max_buffer
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.slot: asyncio.Semaphore | None = None  # the pool's per-origin slot, while in use
        self._paused = False  # reading paused: the caller is behind by more than max_buffer
        self._parser = httptools.HttpResponseParser(self)
        self._reset()

    def _reset(self) -> None:
        self._head: asyncio.Future[tuple[int, dict[str, str]]] | None = None
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._error: HTTPClientError | None = None
        self._framed = True  # the body has a length or chunking (else it ends at close)
        self._keep_alive = True
        self.complete = False
        self._draining = False
        self._drain_left = 0
        self._drain_timer: asyncio.TimerHandle | None = None

    # --- asyncio protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self._head is None:  # bytes nobody asked for, on an idle connection: not reusable
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(MalformedResponse(f"malformed HTTP response: {type(exc).__name__}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._head is not None and not self.complete:
            if self._head.done() and not self._framed and self._error is None:
                self._message_done()  # a body without length or chunking ends with the connection
            else:
                self._fail(ConnectionClosed("connection closed before the answer was complete"))
        if self._draining:
            self._free_slot()  # the caller is done with it; otherwise its release() frees the slot
        if self._drain_timer is not None:
            self._drain_timer.cancel()

    # --- httptools callbacks --------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        headers = {n.decode("latin-1").lower(): v.decode("latin-1") for n, v in self._raw_headers}
        self._framed = "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()
        self._keep_alive = self._parser.should_keep_alive()
        if self._head is not None and not self._head.done():
            self._head.set_result((self._parser.get_status_code(), headers))

    def on_body(self, body: bytes) -> None:
        if self._draining:
            self._drain_left -= len(body)
            if self._drain_left < 0:
                self.close()
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > self._max_buffer and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()  # the reader is behind: stop taking more
        self._wake()

    def on_message_complete(self) -> None:
        self._message_done()

    # --- the exchange -----------------------------------------------------------------------
    async def request(self, data: bytes) -> Response:
        if self.closed or self.transport is None:
            # The peer hung up before we wrote a byte (a fresh connection it closed at once).
            raise ConnectFailed("connection closed before the request was sent")
        self._reset()
        head: asyncio.Future[tuple[int, dict[str, str]]] = self._loop.create_future()
        self._head = head
        self.transport.write(data)
        status, headers = await head
        return Response(self, status, headers)

    async def next_chunk(self) -> bytes:
        while not self._chunks:
            if self.complete:
                return b""
            if self._error is not None:
                raise self._error
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._paused and self._buffered <= self._max_buffer:
            self._resume()
        return chunk

    def finish(self, drain_bytes: int, drain_seconds: float) -> None:
        if self.closed:
            self._free_slot()
            return
        if self.complete:
            self._give_back()
            return
        if self._error is not None:
            self.close()
            return
        self._draining = True
        self._drain_left = drain_bytes - self._buffered
        self._chunks.clear()
        self._buffered = 0
        self._resume()
        self._drain_timer = self._loop.call_later(drain_seconds, self.close)

    def close(self) -> None:
        self._free_slot()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        if self._head is not None and not self.complete:
            self._fail(ConnectionClosed("connection closed"))

    # --- internals ------------------------------------------------------------------------
    def _resume(self) -> None:
        if self._paused and not self.closed and self.transport is not None:
            self.transport.resume_reading()
        self._paused = False

    def _message_done(self) -> None:
        self.complete = True
        self._wake()
        if self._draining:
            if self._drain_timer is not None:
                self._drain_timer.cancel()
            self._give_back()

    def _free_slot(self) -> None:
        slot, self.slot = self.slot, None
        if slot is not None:
            slot.release()

    def _give_back(self) -> None:
        self._free_slot()
        if self._keep_alive and not self.closed:
            self._head = None
            self._pool.put_back(self)
        else:
            self.close()

    def _fail(self, error: HTTPClientError) -> None:
        if self._error is None:
            self._error = error
        if self._head is not None and not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # retrieved here too: its waiter may have gone away
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


SSLContextFactory = Callable[[], Awaitable[ssl.SSLContext]]


class HTTPPool:
    """Kept-alive connections per origin, most recently used first.

    At most `max_per_origin` connections per origin are in use at once (a burst of calls waits
    for one rather than opening hundreds of connections to one upstream); a connection counts
    from the request until it is back in the pool or closed, drain included. At most
    `max_idle` idle connections are kept per origin, each for at most `idle_seconds` (below
    common server keep-alive limits, so a reused connection is rarely one the server is
    closing at that moment).
    """

    def __init__(
        self,
        ssl_context: SSLContextFactory,
        *,
        max_per_origin: int = 100,
        max_idle: int = 64,
        idle_seconds: float = 30.0,
        max_buffer: int = 2 * 1024 * 1024,
    ) -> None:
        self._ssl_context = ssl_context
        self.max_per_origin = max_per_origin
        self.max_idle = max_idle
        self._slots: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self.idle_seconds = idle_seconds
        self.max_buffer = max_buffer
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._all: weakref.WeakSet[_Connection] = weakref.WeakSet()  # to close in-flight ones too
        self.connections_opened = 0
        self.closed = False

    async def request(self, target: Target, data: bytes, *, connect_timeout: float) -> Response:
        """Send `data` (a whole request: line, headers, body) and wait for the answer's head.

        ConnectFailed: nothing was sent. Any other HTTPClientError: it may have been processed.
        """
        origin = (target.scheme, target.host, target.port)
        slots = self._slots.get(origin)
        if slots is None:
            slots = self._slots[origin] = asyncio.Semaphore(self.max_per_origin)
        await slots.acquire()
        try:
            conn = await self._acquire(target, connect_timeout)
        except BaseException:
            slots.release()
            raise
        conn.slot = slots  # given back by the connection when it is pooled again or closed
        try:
            return await conn.request(data)
        except BaseException:
            conn.close()  # cancelled or failed mid-exchange: the connection's state is unknown
            raise

    async def _acquire(self, target: Target, connect_timeout: float) -> _Connection:
        if self.closed:
            raise ConnectFailed("the HTTP pool is closed")
        origin = (target.scheme, target.host, target.port)
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self.idle_seconds:
                return conn
            conn.close()
        loop = asyncio.get_running_loop()
        context = await self._ssl_context() if target.scheme == "https" else None
        try:
            async with asyncio.timeout(connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self, origin, self.max_buffer),
                    target.host,
                    target.port,
                    ssl=context,
                    server_hostname=target.host if context is not None else None,
                )
        except TimeoutError:
            raise ConnectFailed(f"connect timed out after {connect_timeout:g}s") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(f"connect failed: {type(exc).__name__}") from None
        self.connections_opened += 1
        self._all.add(conn)
        return conn

    def put_back(self, conn: _Connection) -> None:
        idle = self._idle.setdefault(conn.origin, [])
        if self.closed or len(idle) >= self.max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    async def close(self) -> None:
        self.closed = True
        for conn in list(self._all):
            conn.close()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports run their close callbacks
