"""The Node fixture itself: server-everything starts in both transports and the official SDK talks to it."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from tests.fixtures.node_mcp import EverythingMode, server_everything


@pytest.mark.parametrize("mode", ["streamableHttp", "sse"])
async def test_server_everything_answers_the_python_sdk(mode: EverythingMode) -> None:
    with server_everything(mode) as server:
        transport = streamable_http_client(server.url) if mode == "streamableHttp" else sse_client(server.url)
        async with Client(transport, mode="legacy") as client:
            tools = await client.list_tools()
            names = {tool.name for tool in tools.tools}
            assert {"echo", "get-sum"} <= names
            result = await client.call_tool("echo", {"message": "hi"})
            assert result.content[0].model_dump()["text"] == "Echo: hi"
