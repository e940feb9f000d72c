"""`devplane chat` against a live server: the built-in echo model calls a real MCP tool (issue 10)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.cli.conftest import Cli
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.live import LiveServer


@pytest.fixture
def upstream() -> Iterator[UpstreamMCPServer]:
    with UpstreamMCPServer(transport="streamable_http") as server:
        yield server


def test_chat_streams_a_tool_call_and_the_answer(
    logged_in: Cli, live_server: LiveServer, upstream: UpstreamMCPServer
) -> None:
    cli = logged_in
    cli.ok("chats", "providers", "create", "echo")
    cli.ok("chats", "models", "create", "echo", "echo", "--context-limit", "8192", "--default")
    cli.ok(
        "mcp", "servers", "create", "--display-name", "Tools", "--slug", "tools", "--url", upstream.url,
        "--availability", "default_on", "--enabled",
    )  # fmt: skip
    result = cli.ok("chat", "--new", "--server", "tools", "-m", '/call tools__echo {"text": "hello from a tool"}')
    out = result.stdout
    assert '→ tools: tools__echo {"text": "hello from a tool"}' in out
    assert "← tools__echo ok" in out
    assert out.count("hello from a tool") >= 3  # the call, the result, and the echo's answer
    assert upstream.count_rpc("tools/call") == 1

    plain = cli.ok("chat", "--new", "-m", "just words")
    assert "just words" in plain.stdout


def test_chat_json_output_is_events(logged_in: Cli, live_server: LiveServer) -> None:
    logged_in.ok("chats", "providers", "create", "echo")
    logged_in.ok("chats", "models", "create", "echo", "echo", "--context-limit", "8192", "--default")
    lines = logged_in.ok("chat", "--new", "-m", "ping", "--output", "json").stdout.strip().splitlines()
    events = [json.loads(line) for line in lines]
    # The answer arrives as parts or, if the step committed before the stream caught up, as a message.
    answers = [e["message"] for e in events if e["type"] == "message" and e["message"]["role"] == "assistant"]
    assert [p["text"] for p in answers[0]["content"]] == ["ping"]
    assert events[-1]["status"]["status"] == "waiting"
