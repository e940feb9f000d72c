"""server-everything (the TypeScript SDK's reference server) behind devplane, in both transports.

For every tool that needs no client capability, the result a client gets through devplane (the
MCP gateway, and the chat tools/call route) equals, field for field, what the official Python SDK
client gets from the same server directly: content, image bytes, structuredContent, isError,
_meta. Only the tool's name differs (`every__echo` for `echo`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client as MCPClient
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from devplane.sdk.client import Client
from tests.fixtures.node_mcp import EverythingMode, server_everything
from tests.interop.everything_cases import CASES, LONG_RUNNING, PROGRESS_STEPS, TOGGLE_LOGGING, normalise
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.helpers import call, gateway, new_chat

SLUG = "every"
TRANSPORT = {"streamableHttp": "streamable_http", "sse": "sse"}


@asynccontextmanager
async def direct(url: str, mode: EverythingMode) -> AsyncIterator[MCPClient]:
    transport = streamable_http_client(url) if mode == "streamableHttp" else sse_client(url)
    async with MCPClient(transport, mode="legacy") as client:
        yield client


def dump(result: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


@pytest.mark.parametrize("mode", ["streamableHttp", "sse"])
async def test_every_tool_matches_a_direct_call(live: Live, admin: Client, mode: EverythingMode) -> None:
    with server_everything(mode) as server:
        expected: list[dict[str, Any]] = []
        async with direct(server.url, mode) as client:
            for name, arguments in [*CASES, TOGGLE_LOGGING, TOGGLE_LOGGING]:
                expected.append(normalise(dump(await client.call_tool(name, arguments))))
        config = await register(admin, SLUG, server.url, transport=TRANSPORT[mode])
        assert admin.token
        via_gateway: list[dict[str, Any]] = []
        async with gateway(live.gateway, admin.token) as mcp:
            for name, arguments in [*CASES, TOGGLE_LOGGING, TOGGLE_LOGGING]:
                via_gateway.append(normalise(dump(await mcp.call_tool(f"{SLUG}__{name}", arguments))))
        chat = await new_chat(admin, [config.id])
        via_chat: list[dict[str, Any]] = []
        for name, arguments in CASES:
            response = await call(admin, chat.id, f"{SLUG}__{name}", arguments)
            assert response.status_code == 200, response.text
            via_chat.append(normalise(response.json()))
    names = [name for name, _ in [*CASES, TOGGLE_LOGGING, TOGGLE_LOGGING]]
    for name, want, got in zip(names, expected, via_gateway, strict=True):
        assert got == want, f"gateway: {name}"
    for name, want, got in zip(names, expected, via_chat, strict=False):
        assert got["content"] == want["content"], f"chat: {name}"
        assert got["is_error"] == want.get("isError", False), f"chat: {name}"
        assert got["structured_content"] == want.get("structuredContent"), f"chat: {name}"
    # The cases are not vacuous: an image, structured content and a tool error went through.
    assert any(c.get("type") == "image" for r in expected for c in r["content"])
    assert any("structuredContent" in r for r in expected)
    assert any(r.get("isError") for r in expected)
    assert "Started simulated" in expected[-2]["content"][0]["text"]
    assert "Stopped simulated" in expected[-1]["content"][0]["text"]


@pytest.mark.parametrize("mode", ["streamableHttp", "sse"])
async def test_progress_reaches_the_gateway_client(live: Live, admin: Client, mode: EverythingMode) -> None:
    name, arguments = LONG_RUNNING
    with server_everything(mode) as server:
        direct_progress: list[tuple[float, float | None, str | None]] = []
        gateway_progress: list[tuple[float, float | None, str | None]] = []

        async def on_direct(progress: float, total: float | None, message: str | None) -> None:
            direct_progress.append((progress, total, message))

        async def on_gateway(progress: float, total: float | None, message: str | None) -> None:
            gateway_progress.append((progress, total, message))

        async with direct(server.url, mode) as client:
            want = dump(await client.call_tool(name, arguments, progress_callback=on_direct))
        await register(admin, SLUG, server.url, transport=TRANSPORT[mode])
        assert admin.token
        async with gateway(live.gateway, admin.token) as mcp:
            got = dump(await mcp.call_tool(f"{SLUG}__{name}", arguments, progress_callback=on_gateway))
    assert got == want
    assert len(direct_progress) == PROGRESS_STEPS
    assert gateway_progress == direct_progress
