"""Self-test for tests/fixtures/mcp_servers.py, driven by the real SDK client (mcp 2.x).

The fixtures are only useful if they behave like real upstreams, so every
check here goes through `mcp.Client` over real loopback HTTP.
"""

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Literal

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    PARSE_ERROR,
    REQUEST_TIMEOUT,
    CallToolResult,
    ProgressNotification,
    TextContent,
    ToolListChangedNotification,
)

from tests.fixtures.mcp_servers import BUILTIN_TOOLS, GarbageServer, RecordedRequest, UpstreamMCPServer

pytestmark = pytest.mark.asyncio


def _text(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


@pytest.fixture
def http_upstream() -> Iterator[UpstreamMCPServer]:
    with UpstreamMCPServer("streamable_http") as server:
        yield server


@pytest.fixture
def sse_upstream() -> Iterator[UpstreamMCPServer]:
    with UpstreamMCPServer("sse") as server:
        yield server


# mode="auto" negotiates the 2026-07-28 per-request protocol with an SDK 2.x
# server; mode="legacy" forces the 2025 initialize handshake that most deployed
# servers speak.  The fixture must serve both.
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_streamable_http_tools_and_request_log(http_upstream: UpstreamMCPServer, mode: str) -> None:
    assert http_upstream.url.endswith("/mcp")
    async with Client(http_upstream.url, mode=mode) as client:
        tools_capability = client.server_capabilities.tools
        assert tools_capability is not None
        assert tools_capability.list_changed
        listed = await client.list_tools()
        assert set(BUILTIN_TOOLS) <= {tool.name for tool in listed.tools}

        http_upstream.reset_log()
        echoed = await client.call_tool("echo", {"text": "hello"})
        assert _text(echoed) == "hello"
        assert http_upstream.count_rpc("tools/call") == 1

        added = await client.call_tool("add", {"a": 2, "b": 3})
        assert added.structured_content == {"result": 5}
        assert http_upstream.count_rpc("tools/call") == 2

        failed = await client.call_tool("fail", {"message": "nope"})
        assert failed.is_error
        assert _text(failed).endswith("nope")  # SDK prefixes "Error executing tool fail: "
        assert http_upstream.count_rpc("tools/call") == 3

    # Only MCP traffic reached the endpoint, and every POST carried one JSON-RPC message.
    assert all(req.path == "/mcp" for req in http_upstream.requests)
    assert all(len(req.rpc_methods) <= 1 for req in http_upstream.requests)
    first = http_upstream.requests[0]
    assert first.method == "POST"
    assert "application/json" in first.headers["accept"]
    assert "text/event-stream" in first.headers["accept"]


async def test_connect_sequence_is_logged(http_upstream: UpstreamMCPServer) -> None:
    async with Client(http_upstream.url, mode="legacy") as client:
        await client.list_tools()
    methods = http_upstream.rpc_methods()
    assert methods[:3] == ["initialize", "notifications/initialized", "tools/list"]
    initialize, initialized = http_upstream.requests[:2]
    assert initialize.status == 200
    assert "mcp-session-id" not in initialize.headers
    assert initialized.status == 202
    assert initialized.headers["mcp-protocol-version"] == client_protocol_version(http_upstream)
    # The session is ended with DELETE on close.
    assert http_upstream.requests[-1].method == "DELETE"


def client_protocol_version(server: UpstreamMCPServer) -> str:
    # The version the server agreed to, as echoed on the first post-initialize request.
    for req in server.requests:
        if "mcp-protocol-version" in req.headers:
            return req.headers["mcp-protocol-version"]
    raise AssertionError("no request carried MCP-Protocol-Version")


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sse_tools_and_custom_headers(sse_upstream: UpstreamMCPServer, mode: str) -> None:
    assert sse_upstream.url.endswith("/sse")
    transport = sse_client(sse_upstream.url, headers={"X-Devplane-Test": "yes"}, timeout=5)
    async with Client(transport, mode=mode) as client:
        listed = await client.list_tools()
        assert "echo" in {tool.name for tool in listed.tools}
        sse_upstream.reset_log()
        assert _text(await client.call_tool("echo", {"text": "over sse"})) == "over sse"
        assert (await client.call_tool("add", {"a": 1, "b": 1})).structured_content == {"result": 2}
        assert (await client.call_tool("fail", {"message": "bad"})).is_error
        assert sse_upstream.count_rpc("tools/call") == 3
        # The tool sees the headers of the POST that carried the call.
        seen = json.loads(_text(await client.call_tool("headers", {})))
        assert seen["x-devplane-test"] == "yes"
    stream_open = sse_upstream.requests  # after reset: only POSTs to the message endpoint
    assert all(req.method == "POST" and req.path == "/messages/" for req in stream_open)
    assert all("session_id=" in req.query for req in stream_open)


async def test_boom_is_a_jsonrpc_error(http_upstream: UpstreamMCPServer) -> None:
    async with Client(http_upstream.url) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("boom", {})
    assert caught.value.code == INTERNAL_ERROR


async def test_big_slow_and_timeout(http_upstream: UpstreamMCPServer) -> None:
    async with Client(http_upstream.url, mode="legacy") as client:
        assert len(_text(await client.call_tool("big", {"size": 100_000}))) == 100_000
        assert _text(await client.call_tool("slow", {"seconds": 0.01})) == "slept 0.01"
        with pytest.raises(MCPError) as caught:
            await client.call_tool("slow", {"seconds": 5}, read_timeout_seconds=0.2)
        assert caught.value.code == REQUEST_TIMEOUT
        # On the handshake era the SDK tells the server with notifications/cancelled.
        await http_upstream.await_request(lambda r: "notifications/cancelled" in r.rpc_methods)


async def test_progress_notifications(http_upstream: UpstreamMCPServer) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(http_upstream.url) as client:
        result = await client.call_tool("progress", {"steps": 3}, progress_callback=on_progress)
    assert _text(result) == "done 3"
    assert [p for p, _, _ in seen] == [1, 2, 3]
    assert seen[-1][1] == 3


class _Notifications:
    """Collects server notifications delivered to Client(message_handler=...)."""

    def __init__(self) -> None:
        self.items: list[IncomingMessage] = []
        self.list_changed = anyio.Event()

    async def __call__(self, message: IncomingMessage) -> None:
        self.items.append(message)
        if isinstance(message, ToolListChangedNotification):
            self.list_changed.set()

    def count(self, kind: type) -> int:
        return sum(isinstance(item, kind) for item in self.items)


async def test_list_changed_on_streamable_http_get_stream(http_upstream: UpstreamMCPServer) -> None:
    notes = _Notifications()
    async with Client(http_upstream.url, mode="legacy", message_handler=notes) as client:
        # The standalone notification travels on the client's GET stream, which
        # the SDK opens in the background after notifications/initialized.
        await http_upstream.await_request(lambda r: r.method == "GET" and r.status == 200)
        await anyio.sleep(0.1)
        await client.call_tool("notify_change", {})
        with anyio.fail_after(5):
            await notes.list_changed.wait()
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert "added_later" in names
    assert notes.count(ProgressNotification) == 0


async def test_list_changed_on_request_stream(http_upstream: UpstreamMCPServer) -> None:
    notes = _Notifications()
    async with Client(http_upstream.url, mode="legacy", message_handler=notes) as client:
        await client.call_tool("notify_change", {"on_request_stream": True})
        with anyio.fail_after(5):
            await notes.list_changed.wait()


async def test_list_changed_on_sse(sse_upstream: UpstreamMCPServer) -> None:
    notes = _Notifications()
    async with Client(sse_client(sse_upstream.url), mode="legacy", message_handler=notes) as client:
        await client.call_tool("notify_change", {})
        with anyio.fail_after(5):
            await notes.list_changed.wait()


async def test_list_changed_modern_listen(http_upstream: UpstreamMCPServer) -> None:
    # At 2026-07-28 change notifications only flow on a subscriptions/listen stream.
    async with Client(http_upstream.url) as client:
        assert client.protocol_version == "2026-07-28"
        async with client.listen(tools_list_changed=True) as subscription:
            await client.call_tool("notify_change", {})
            with anyio.fail_after(5):
                async for _event in subscription:
                    break
    assert http_upstream.count_rpc("subscriptions/listen") == 1


@asynccontextmanager
async def _connect_with_headers(server: UpstreamMCPServer, headers: dict[str, str]) -> AsyncIterator[Client]:
    if server.transport == "sse":
        async with Client(sse_client(server.url, headers=headers), mode="legacy") as client:
            yield client
        return
    # Streamable HTTP takes custom headers only via a caller-owned httpx2 client
    # (not httpx!), which the SDK does not close for us.
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http,
        Client(streamable_http_client(server.url, http_client=http), mode="legacy") as client,
    ):
        yield client


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
async def test_require_bearer(transport: Literal["streamable_http", "sse"]) -> None:
    tokens: list[str] = []

    def check(token: str) -> bool:
        tokens.append(token)
        return token == "s3cret"

    with UpstreamMCPServer(transport, require_bearer=check) as server:
        # Missing token: the very first request is rejected before MCP sees it.
        # The SDK reports the 401 as a status-less MCPError wrapped in task-group
        # ExceptionGroups (streamable HTTP) or as httpx2.HTTPStatusError (SSE).
        expected: pytest.RaisesGroup[MCPError] | pytest.RaisesExc[httpx2.HTTPStatusError] = (
            pytest.RaisesExc(httpx2.HTTPStatusError, check=lambda e: e.response.status_code == 401)
            if transport == "sse"
            else pytest.RaisesGroup(
                pytest.RaisesExc(MCPError, check=lambda e: e.code == INTERNAL_ERROR), flatten_subgroups=True
            )
        )
        with expected:
            async with _connect_with_headers(server, {}):
                pass
        assert server.requests, "the rejected request must still be logged"
        assert all(req.status == 401 for req in server.requests)
        assert tokens == []

        server.reset_log()
        async with _connect_with_headers(server, {"Authorization": "Bearer s3cret"}) as client:
            assert _text(await client.call_tool("echo", {"text": "ok"})) == "ok"
        assert "s3cret" in tokens
        assert server.requests
        assert all(req.headers["authorization"] == "Bearer s3cret" for req in server.requests)
        assert all(req.status in (200, 202) for req in server.requests if req.method == "POST")


async def test_require_header() -> None:
    with UpstreamMCPServer(require_header=("X-Api-Key", "k1")) as server:
        async with httpx.AsyncClient() as raw:
            denied = await raw.post(server.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert denied.status_code == 401
        async with _connect_with_headers(server, {"x-api-key": "k1"}) as client:
            assert _text(await client.call_tool("echo", {"text": "k"})) == "k"


async def test_extra_tools_long_names_and_list_delay() -> None:
    long_name = "tool_" + "x" * 120

    def shout(text: str) -> str:
        return text.upper()

    with UpstreamMCPServer(tools={long_name: shout}, include_builtin=False, list_delay=0.3) as server:
        server.add_tool(lambda: "late", name="registered_late")
        async with Client(server.url) as client:
            started = anyio.current_time()
            listed = await client.list_tools()
            assert anyio.current_time() - started >= 0.3
            assert {tool.name for tool in listed.tools} == {long_name, "registered_late"}
            assert _text(await client.call_tool(long_name, {"text": "hi"})) == "HI"


@pytest.mark.parametrize(
    ("mode", "content_type", "error_code"),
    [
        ("html", "text/html", INVALID_REQUEST),
        ("bad_jsonrpc", "application/json", PARSE_ERROR),
        ("broken_sse", "text/event-stream", PARSE_ERROR),
    ],
)
async def test_garbage_server_answers(
    mode: Literal["html", "bad_jsonrpc", "broken_sse"], content_type: str, error_code: int
) -> None:
    with GarbageServer(mode) as garbage:
        async with httpx.AsyncClient() as raw:
            response = await raw.post(garbage.url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(content_type)
        assert garbage.count_rpc("initialize") == 1
        # The SDK client must fail to connect (with a JSON-RPC-level error) rather than hang.
        code_matches = pytest.RaisesExc(MCPError, check=lambda e: e.code == error_code)
        with anyio.fail_after(10), pytest.RaisesGroup(code_matches, flatten_subgroups=True):
            async with Client(garbage.url, mode="legacy"):
                pass


async def test_garbage_server_hang() -> None:
    with GarbageServer("hang") as garbage:
        async with httpx.AsyncClient(timeout=0.3) as raw:
            with pytest.raises(httpx.ReadTimeout):
                await raw.post(garbage.url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize"})
        request: RecordedRequest = garbage.requests[0]
        assert request.status is None
        assert request.rpc_methods == ("initialize",)


async def test_restart_keeps_url() -> None:
    server = UpstreamMCPServer().start()
    try:
        url = server.url
        server.stop()
        server.start()
        assert server.url == url
        async with Client(server.url) as client:
            assert _text(await client.call_tool("echo", {"text": "again"})) == "again"
    finally:
        server.stop()
