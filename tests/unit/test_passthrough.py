"""The pass-through's streamable HTTP client (devplane.mcp.passthrough) against scripted upstreams.

A raw-socket server on 127.0.0.1 answers each request with exact bytes, so what the MCP transport
spec lets a server do (priming events, requests on the call's stream, batches, ending the stream
early and being resumed with Last-Event-ID) is exercised byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from devplane.mcp.errors import AuthRequired, SessionExpired, UpstreamError
from devplane.mcp.http1 import HTTPPool, Target, encode_headers
from devplane.mcp.passthrough import Listeners, PassThrough
from tests.unit.test_http1 import Script, ScriptedServer, no_tls

Serve = Callable[[Script], Awaitable[ScriptedServer]]
RID = "dp-1"
CALL = json.dumps({"jsonrpc": "2.0", "id": RID, "method": "tools/call", "params": {"name": "echo"}}).encode()
RESULT = {"jsonrpc": "2.0", "id": RID, "result": {"content": [{"type": "text", "text": "Echo: hi"}]}}


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
    await asyncio.sleep(0)


def passthrough(server: ScriptedServer, *, session: str | None = "s-1", limit: int = 1 << 20) -> PassThrough:
    target = Target.parse(f"http://127.0.0.1:{server.port}/mcp")
    fixed = {"Host": target.host_header, "MCP-Protocol-Version": "2025-11-25"}
    if session:
        fixed["Mcp-Session-Id"] = session
    post = {**fixed, "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    return PassThrough(
        http=HTTPPool(no_tls),  # type: ignore[arg-type]  # plain HTTP only: TLS is never asked for
        target=target,
        post_head=b"POST /mcp HTTP/1.1\r\n" + encode_headers(post),
        get_head=b"GET /mcp HTTP/1.1\r\n" + encode_headers({**fixed, "Accept": "text/event-stream"}),
        has_session=session is not None,
        connect_timeout=2.0,
        max_result_bytes=limit,
    )


def sse(*events: bytes, end: bool = True) -> list[bytes | float | None]:
    """A chunked event-stream answer, one chunk per event; `end=False` closes the connection instead."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    pieces: list[bytes | float | None] = [head]
    for event in events:
        pieces += [b"%x\r\n%s\r\n" % (len(event), event), 0.01]
    pieces.append(b"0\r\n\r\n" if end else None)
    return pieces


def json_answer(payload: Any, status: str = "200 OK") -> list[bytes | float | None]:
    body = json.dumps(payload).encode()
    return [
        b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (status.encode(), len(body), body)
    ]


def accepted() -> list[bytes | float | None]:
    return [b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"]


def data(message: Any, event_id: str | None = None) -> bytes:
    prefix = f"id: {event_id}\n".encode() if event_id else b""
    return prefix + b"event: message\ndata: " + json.dumps(message).encode() + b"\n\n"


def body(request: bytes) -> Any:
    return json.loads(request.split(b"\r\n\r\n", 1)[1]) if request.startswith(b"POST") else None


def header(request: bytes, name: str) -> str | None:
    for line in request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        key, _, value = line.decode().partition(":")
        if key.lower() == name.lower():
            return value.strip()
    return None


async def test_the_reported_priming_event(serve: Serve) -> None:
    server = await serve(lambda _: sse(b"id: 0c57b1e4\ndata:\n\n", data(RESULT, "869abcb5")))
    assert await passthrough(server).call(RID, CALL, Listeners()) == RESULT


async def test_crlf_comments_bom_and_foreign_events(serve: Serve) -> None:
    stream = (
        b"\xef\xbb\xbf: hello\r\n\r\n",
        b"event: endpoint\r\ndata: /not-ours\r\n\r\n",
        b'data: {"jsonrpc":"2.0",\r\ndata: "id":"dp-1","result":{"ok":true}}\r\n\r\n',
    )
    server = await serve(lambda _: sse(*stream))
    assert await passthrough(server).call(RID, CALL, Listeners()) == {
        "jsonrpc": "2.0",
        "id": RID,
        "result": {"ok": True},
    }


async def test_a_json_batch_answer(serve: Serve) -> None:
    batch = [{"jsonrpc": "2.0", "method": "notifications/message", "params": {}}, RESULT]
    server = await serve(lambda _: json_answer(batch))
    assert await passthrough(server).call(RID, CALL, Listeners()) == RESULT


async def test_a_batch_inside_an_event(serve: Serve) -> None:
    progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}}
    server = await serve(lambda _: sse(b"data: " + json.dumps([progress, RESULT]).encode() + b"\n\n"))
    seen: list[dict[str, Any]] = []

    async def on_progress(note: dict[str, Any]) -> None:
        seen.append(note)

    assert await passthrough(server).call(RID, CALL, Listeners(progress=on_progress)) == RESULT
    assert seen == [{"progressToken": 1, "progress": 1}]


async def test_progress_log_and_list_changed_reach_their_listeners(serve: Serve) -> None:
    events = (
        data({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "t", "progress": 1}}),
        data({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hello"}}),
        data({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}),
        data(RESULT),
    )
    server = await serve(lambda _: sse(*events))
    seen: list[tuple[str, Any]] = []

    async def on_progress(note: dict[str, Any]) -> None:
        seen.append(("progress", note))

    async def on_log(note: dict[str, Any]) -> None:
        seen.append(("log", note))

    listeners = Listeners(progress=on_progress, log=on_log, tools_changed=lambda: seen.append(("changed", None)))
    assert await passthrough(server).call(RID, CALL, listeners) == RESULT
    assert seen == [
        ("progress", {"progressToken": "t", "progress": 1}),
        ("log", {"level": "info", "data": "hello"}),
        ("changed", None),
    ]


@pytest.mark.parametrize(
    ("method", "answer"),
    [
        ("ping", {"result": {}}),
        ("sampling/createMessage", {"error": -32601}),
        ("elicitation/create", {"error": -32601}),
        ("roots/list", {"error": -32601}),
    ],
)
async def test_requests_on_the_call_stream_are_answered_at_once(serve: Serve, method: str, answer: Any) -> None:
    answered = asyncio.Event()

    def script(request: bytes) -> list[bytes | float | None]:
        message = body(request)
        if message.get("method") == "tools/call":
            # The server waits for our answer before it sends the result (as a real one would).
            return [*sse(data({"jsonrpc": "2.0", "id": 77, "method": method, "params": {}}), end=False)[:-1], 0.3]
        answered.set()
        return accepted()

    server = await serve(script)
    pt = passthrough(server)
    task = asyncio.create_task(pt.call(RID, CALL, Listeners()))
    await asyncio.wait_for(answered.wait(), 2)
    task.cancel()
    replies = [body(r) for r in server.requests if body(r) and body(r).get("id") == 77]
    assert len(replies) == 1
    reply = replies[0]
    assert reply["jsonrpc"] == "2.0"
    if "result" in answer:
        assert reply == {"jsonrpc": "2.0", "id": 77, "result": {}}
    else:
        assert reply["error"]["code"] == answer["error"]
        assert "does not offer" in reply["error"]["message"]
    posted = next(r for r in server.requests if body(r) and body(r).get("id") == 77)
    assert header(posted, "Mcp-Session-Id") == "s-1"
    assert header(posted, "MCP-Protocol-Version") == "2025-11-25"


async def test_a_stream_ended_early_is_resumed_with_last_event_id(serve: Serve) -> None:
    def script(request: bytes) -> list[bytes | float | None]:
        if request.startswith(b"POST"):
            # 2025-11-25 polling: priming event with a retry delay, then the server ends the stream.
            return sse(b"id: e-1\nretry: 200\ndata:\n\n", end=True)
        if header(request, "Last-Event-ID") == "e-1":
            return sse(b"id: e-2\ndata:\n\n", end=True)  # nothing yet: poll again
        return sse(data(RESULT, "e-3"))

    server = await serve(script)
    started = time.monotonic()
    assert await passthrough(server).call(RID, CALL, Listeners()) == RESULT
    elapsed = time.monotonic() - started
    gets = [r for r in server.requests if r.startswith(b"GET")]
    assert [header(r, "Last-Event-ID") for r in gets] == ["e-1", "e-2"]
    assert all(header(r, "Mcp-Session-Id") == "s-1" for r in gets)
    assert all(header(r, "Accept") == "text/event-stream" for r in gets)
    assert elapsed >= 0.4  # two waits of the server's retry delay (a lower bound, never an upper one)


async def test_a_replayed_request_is_answered_once(serve: Serve) -> None:
    ping = data({"jsonrpc": "2.0", "id": 5, "method": "ping"}, "e-1")

    def script(request: bytes) -> list[bytes | float | None]:
        if request.startswith(b"POST") and body(request).get("method") == "tools/call":
            return sse(b"retry: 10\n\n", ping, end=True)
        if request.startswith(b"GET"):
            return sse(ping, data(RESULT, "e-2"))
        return accepted()

    server = await serve(script)
    assert await passthrough(server).call(RID, CALL, Listeners()) == RESULT
    assert sum(1 for r in server.requests if body(r) == {"jsonrpc": "2.0", "id": 5, "result": {}}) == 1


async def test_an_early_end_without_an_event_id_fails(serve: Serve) -> None:
    server = await serve(lambda _: sse(b": nothing\n\n"))
    with pytest.raises(UpstreamError, match="without a response"):
        await passthrough(server).call(RID, CALL, Listeners())


async def test_a_server_that_cannot_resume(serve: Serve) -> None:
    def script(request: bytes) -> list[bytes | float | None]:
        if request.startswith(b"POST"):
            return sse(b"id: 1\nretry: 1\ndata:\n\n")
        return [b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"]

    server = await serve(script)
    with pytest.raises(UpstreamError, match="does not offer resuming"):
        await passthrough(server).call(RID, CALL, Listeners())


async def test_statuses(serve: Serve) -> None:
    for status, error in (
        ("404 Not Found", SessionExpired),
        ("401 Unauthorized", AuthRequired),
        ("202 Accepted", UpstreamError),
        ("500 Internal Server Error", UpstreamError),
    ):
        server = await serve(lambda _, s=status: json_answer({}, s))  # type: ignore[misc]  # bound per loop turn
        with pytest.raises(error):
            await passthrough(server).call(RID, CALL, Listeners())
    server = await serve(lambda _: json_answer({}, "404 Not Found"))
    with pytest.raises(UpstreamError):  # no session: a 404 is a plain failure, never a resend
        await passthrough(server, session=None).call(RID, CALL, Listeners())


async def test_whitespace_data_is_skipped_and_garbage_is_malformed(serve: Serve) -> None:
    server = await serve(lambda _: sse(b"data:\ndata:\n\n", data(RESULT)))
    assert await passthrough(server).call(RID, CALL, Listeners()) == RESULT
    server = await serve(lambda _: sse(b"data: not json\n\n"))
    with pytest.raises(UpstreamError, match="malformed JSON"):
        await passthrough(server).call(RID, CALL, Listeners())


async def test_the_byte_limit_covers_the_stream(serve: Serve) -> None:
    big = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "x" * 5000}}
    server = await serve(lambda _: sse(data(big), data(RESULT)))
    with pytest.raises(UpstreamError, match="larger than"):
        await passthrough(server, limit=4000).call(RID, CALL, Listeners())
