"""The Python SDK's server as upstream in its four streamable HTTP shapes, through the gateway.

Stateful or stateless, answering with JSON or with event streams: the gateway client's results
equal a direct client's, progress arrives when the upstream streams, and the upstream's log
messages about a call reach a gateway client whose call is streamed.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp import Client as MCPClient
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPDeprecationWarning

from devplane.sdk.client import Client
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.helpers import Farm

CASES: list[tuple[str, dict[str, Any]]] = [
    ("echo", {"text": "hi"}),
    ("add", {"a": 2, "b": 40}),
    ("fail", {"message": "refused"}),
    ("big", {"size": 20_000}),
]


async def chatty(ctx: Context) -> str:
    """Logs twice about this call, then answers."""
    # Logging is deprecated in the 2026 revision (the SDK warns, and the suite makes warnings
    # errors); 2025-era clients, devplane's included, still use it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await ctx.info("first line")
        await ctx.warning({"detail": "second"})
    return "done"


@asynccontextmanager
async def client(
    url: str, token: str | None, logs: list[types.LoggingMessageNotificationParams]
) -> AsyncIterator[MCPClient]:
    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params)

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0)) as http,
        MCPClient(streamable_http_client(url, http_client=http), mode="legacy", logging_callback=on_log) as mcp,
    ):
        yield mcp


def dump(result: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


@pytest.mark.parametrize(("stateless", "json_response"), [(False, False), (False, True), (True, False), (True, True)])
async def test_a_python_sdk_upstream_in_every_shape(
    farm: Farm, live: Live, admin: Client, stateless: bool, json_response: bool
) -> None:
    upstream = farm.add(UpstreamMCPServer(stateless=stateless, json_response=json_response))
    upstream.add_tool(chatty)
    await register(admin, "py", upstream.url)
    assert admin.token
    results: dict[str, list[dict[str, Any]]] = {}
    received: dict[str, list[float]] = {}
    logs: dict[str, list[types.LoggingMessageNotificationParams]] = {}
    for side, url, token, prefix in (
        ("direct", upstream.url, None, ""),
        ("gateway", live.gateway, admin.token, "py__"),
    ):
        received[side] = []
        logs[side] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            received[side].append(progress)  # noqa: B023 - used only inside this loop turn

        async with client(url, token, logs[side]) as mcp:
            results[side] = [dump(await mcp.call_tool(f"{prefix}{name}", arguments)) for name, arguments in CASES]
            results[side].append(
                dump(await mcp.call_tool(f"{prefix}progress", {"steps": 3}, progress_callback=on_progress))
            )
            # A progress callback makes the gateway stream the answer: log messages ride on it.
            results[side].append(dump(await mcp.call_tool(f"{prefix}chatty", {}, progress_callback=on_progress)))
    assert results["gateway"] == results["direct"]
    assert results["direct"][2]["isError"] is True
    assert received["gateway"] == received["direct"] == ([] if json_response else [1, 2, 3])
    expected_logs = [] if json_response else [("info", "first line"), ("warning", {"detail": "second"})]
    assert [(m.level, m.data) for m in logs["direct"]] == expected_logs
    assert [(m.level, m.data) for m in logs["gateway"]] == expected_logs
