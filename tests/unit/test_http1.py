"""The pass-through's HTTP/1.1 client against a scripted raw-socket server on 127.0.0.1.

The server answers each request with exactly the bytes a test gives it, so framing (length,
chunked, until-close), keep-alive and failure cases are exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from devplane.mcp.http1 import (
    ConnectFailed,
    ConnectionClosed,
    HTTPPool,
    MalformedResponse,
    Response,
    Target,
    encode_headers,
)

Script = Callable[[bytes], list[bytes | float | None]]  # request -> pieces to send (float = sleep, None = close)


@dataclass
class ScriptedServer:
    script: Script
    port: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                for piece in self.script(request):
                    if piece is None:
                        writer.close()
                        return
                    if isinstance(piece, float):
                        await writer.drain()
                        await asyncio.sleep(piece)
                        continue
                    writer.write(piece)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


Serve = Callable[[Script], Awaitable[ScriptedServer]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[tuple[asyncio.Server, ScriptedServer]] = []

    async def start(script: Script) -> ScriptedServer:
        scripted = ScriptedServer(script)
        server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
        servers.append((server, scripted))
        scripted.port = server.sockets[0].getsockname()[1]
        return scripted

    yield start
    for server, scripted in servers:
        server.close()
        for writer in scripted.writers:
            writer.close()
        await server.wait_closed()
    await asyncio.sleep(0)  # let the closed transports finish


async def no_tls() -> object:
    raise AssertionError("no TLS in these tests")


def pool() -> HTTPPool:
    return HTTPPool(no_tls)  # type: ignore[arg-type]


def post(target: Target, body: bytes = b"{}") -> bytes:
    head = f"POST {target.path} HTTP/1.1\r\n".encode() + encode_headers({"Host": target.host_header})
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


async def body_of(response: Response) -> bytes:
    return b"".join([chunk async for chunk in response.chunks()])


def json_answer(body: bytes) -> list[bytes | float | None]:
    return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body]


def chunked(*parts: bytes, pause: float = 0.0) -> list[bytes | float | None]:
    pieces: list[bytes | float | None] = [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    ]
    for part in parts:
        pieces.append(b"%x\r\n%s\r\n" % (len(part), part))
    if pause:
        pieces.append(pause)
    pieces.append(b"0\r\n\r\n")
    return pieces


async def test_keep_alive_reuses_one_connection(serve: Serve) -> None:
    server = await serve(lambda req: json_answer(b'{"n":%d}' % len(req)))
    target = Target.parse(f"http://127.0.0.1:{server.port}/mcp?x=1")
    http = pool()
    for _ in range(5):
        response = await http.request(target, post(target, b'{"a":1}'), connect_timeout=2)
        assert response.status == 200
        assert response.headers["content-type"] == "application/json"
        assert (await body_of(response)).startswith(b'{"n":')
        response.release()
    assert server.connections == 1
    assert http.connections_opened == 1
    assert server.requests[0].startswith(b"POST /mcp?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    await http.close()


async def test_chunked_body_arrives_in_pieces_and_an_unfinished_answer_is_drained_for_reuse(
    serve: Serve,
) -> None:
    # The answer's first event comes at once; the stream ends 50 ms later (as an MCP server's
    # SSE answer does). Released early, the connection must still go back to the pool.
    server = await serve(lambda req: chunked(b"data: one\n\n", b"data: two\n\n", pause=0.05))
    target = Target.parse(f"http://127.0.0.1:{server.port}/")
    http = pool()
    response = await http.request(target, post(target), connect_timeout=2)
    first = await anext(response.chunks())
    assert first == b"data: one\n\n"
    assert not response.complete
    response.release()
    await asyncio.sleep(0.15)
    again = await http.request(target, post(target), connect_timeout=2)
    assert await body_of(again) == b"data: one\n\ndata: two\n\n"
    again.release()
    assert server.connections == 1
    await http.close()


async def test_a_drain_that_overruns_its_budget_closes_the_connection(serve: Serve) -> None:
    big = b"x" * 5000

    def script(req: bytes) -> list[bytes | float | None]:
        head, first, end = chunked(b"first")
        return [head, first, 0.05, b"%x\r\n%s\r\n" % (len(big), big), end]

    server = await serve(script)
    target = Target.parse(f"http://127.0.0.1:{server.port}/")
    http = pool()
    response = await http.request(target, post(target), connect_timeout=2)
    await anext(response.chunks())
    response.release(drain_bytes=1000)
    await asyncio.sleep(0.1)
    again = await http.request(target, post(target), connect_timeout=2)
    await body_of(again)
    again.release()
    assert server.connections == 2
    await http.close()


async def test_body_until_close_and_connection_close_header(serve: Serve) -> None:
    server = await serve(lambda req: [b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"a":', b"1}", None])
    target = Target.parse(f"http://127.0.0.1:{server.port}/")
    http = pool()
    response = await http.request(target, post(target), connect_timeout=2)
    assert await body_of(response) == b'{"a":1}'
    response.release()
    again = await http.request(target, post(target), connect_timeout=2)  # a new connection, not the closed one
    assert await body_of(again) == b'{"a":1}'
    assert server.connections == 2
    await http.close()


async def test_connection_lost_mid_body_is_an_error_not_a_short_answer(serve: Serve) -> None:
    server = await serve(lambda req: [b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":', None])
    target = Target.parse(f"http://127.0.0.1:{server.port}/")
    http = pool()
    response = await http.request(target, post(target), connect_timeout=2)
    with pytest.raises(ConnectionClosed):
        await body_of(response)
    await http.close()


async def test_closed_before_any_answer(serve: Serve) -> None:
    server = await serve(lambda req: [None])
    target = Target.parse(f"http://127.0.0.1:{server.port}/")
    http = pool()
    with pytest.raises(ConnectionClosed):
        await http.request(target, post(target), connect_timeout=2)
    await http.close()


async def test_garbage_is_a_malformed_response(serve: Serve) -> None:
    server = await serve(lambda req: [b"<html>hello</html>\r\n\r\n"])
    target = Target.parse(f"http://127.0.0.1:{server.port}/")
    http = pool()
    with pytest.raises(MalformedResponse):
        await http.request(target, post(target), connect_timeout=2)
    await http.close()


async def test_nothing_listening_is_connect_failed() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    target = Target.parse(f"http://127.0.0.1:{port}/")
    http = pool()
    with pytest.raises(ConnectFailed):
        await http.request(target, post(target), connect_timeout=2)
    await http.close()


async def test_a_cancelled_request_closes_its_connection(serve: Serve) -> None:
    server = await serve(lambda req: [0.5, *json_answer(b"{}")])
    target = Target.parse(f"http://127.0.0.1:{server.port}/")
    http = pool()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await http.request(target, post(target), connect_timeout=2)
    # The late answer must not be read as the next request's: that one gets a new connection.
    response = await http.request(target, post(target), connect_timeout=2)
    assert await body_of(response) == b"{}"
    response.release()
    assert server.connections == 2
    await http.close()


async def test_a_slow_reader_pauses_the_socket_and_gets_every_byte(serve: Serve) -> None:
    part = b"y" * 65536
    server = await serve(lambda req: chunked(*([part] * 40)))
    target = Target.parse(f"http://127.0.0.1:{server.port}/")
    http = HTTPPool(no_tls, max_buffer=100_000)  # type: ignore[arg-type]
    response = await http.request(target, post(target), connect_timeout=2)
    await asyncio.sleep(0.2)  # let the server fill our buffer past its limit
    assert len(await body_of(response)) == 40 * 65536
    response.release()
    await http.close()
    assert server.connections == 1


def test_header_injection_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        encode_headers({"X-Api-Key": "secret\r\nX-Evil: 1"})
    with pytest.raises(ValueError, match="line break"):
        encode_headers({"X-Bad\nName": "v"})
    assert encode_headers({"A": "1", "B": "two"}) == b"A: 1\r\nB: two\r\n"


@pytest.mark.parametrize(
    ("url", "host_header", "path"),
    [
        ("http://example.test/mcp", "example.test", "/mcp"),
        ("https://example.test:443/a?b=c", "example.test", "/a?b=c"),
        ("http://127.0.0.1:8080", "127.0.0.1:8080", "/"),
        ("http://[::1]:9000/x", "[::1]:9000", "/x"),
    ],
)
def test_targets(url: str, host_header: str, path: str) -> None:
    target = Target.parse(url)
    assert (target.host_header, target.path) == (host_header, path)


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Target.parse("ftp://example.test/")


async def test_a_connection_the_peer_closed_before_the_write_is_connect_failed() -> None:
    # Nothing was sent, so the caller may safely send it elsewhere (on a new upstream session).
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    target = Target.parse(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/")
    http = pool()
    conn = await http._acquire(target, 2)
    await asyncio.sleep(0.1)  # the hang-up arrives before anything is written
    with pytest.raises(ConnectFailed, match="before the request was sent"):
        await conn.request(post(target))
    await http.close()
    server.close()
    await server.wait_closed()


async def test_connections_per_origin_are_capped_and_every_slot_comes_back(serve: Serve) -> None:
    # Each answer takes 50 ms; 6 calls at once through 2 slots: never more than 2 connections.
    server = await serve(lambda req: [0.05, *json_answer(b"{}")])
    target = Target.parse(f"http://127.0.0.1:{server.port}/")
    http = HTTPPool(no_tls, max_per_origin=2)  # type: ignore[arg-type]

    async def call() -> bytes:
        response = await http.request(target, post(target), connect_timeout=2)
        try:
            return await body_of(response)
        finally:
            response.release()

    assert await asyncio.gather(*(call() for _ in range(6))) == [b"{}"] * 6
    assert server.connections == 2
    # Failures give their slot back too: a garbage answer, then a lost connection, then normal calls.
    bad = await serve(lambda req: [b"nonsense\r\n\r\n"])
    bad_target = Target.parse(f"http://127.0.0.1:{bad.port}/")
    for _ in range(3):
        with pytest.raises(MalformedResponse):
            await http.request(bad_target, post(bad_target), connect_timeout=2)
    assert await asyncio.gather(*(call() for _ in range(4))) == [b"{}"] * 4
    await http.close()
