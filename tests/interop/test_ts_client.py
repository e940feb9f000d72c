"""The TypeScript SDK's client on devplane's MCP gateway (tests/interop/ts_client.mjs, run by Node).

Upstreams: server-everything (compared with the same TypeScript client talking to it directly)
and the Python SDK's server.
"""

from __future__ import annotations

from typing import Any

from devplane.sdk.client import Client
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.fixtures.node_mcp import server_everything, ts_client
from tests.interop.everything_cases import CASES, LONG_RUNNING, PROGRESS_STEPS, normalise
from tests.mcp_runtime.conftest import Live, register
from tests.mcp_runtime.helpers import Farm


def _calls(prefix: str) -> list[dict[str, Any]]:
    calls = [{"name": f"{prefix}{name}", "arguments": arguments} for name, arguments in CASES]
    name, arguments = LONG_RUNNING
    return [*calls, {"name": f"{prefix}{name}", "arguments": arguments, "progress": True}]


async def test_the_typescript_client_gets_what_it_gets_directly(live: Live, admin: Client) -> None:
    with server_everything("streamableHttp") as server:
        want = await ts_client({"url": server.url, "token": "unused", "calls": _calls("")})
        await register(admin, "every", server.url)
        got = await ts_client({"url": live.gateway, "token": admin.token, "calls": _calls("every__")})
    assert got["serverInfo"]["name"] == "devplane"
    assert got["protocolVersion"] == want["protocolVersion"]  # both negotiated the newest they share
    assert {f"every__{name}" for name in want["tools"]} == set(got["tools"])
    assert len(got["calls"]) == len(want["calls"])
    for (name, _), expected, actual in zip([*CASES, LONG_RUNNING], want["calls"], got["calls"], strict=True):
        assert "error" not in actual, (name, actual)
        assert normalise(actual["result"]) == normalise(expected["result"]), name
    assert len(got["calls"][-1]["progress"]) == PROGRESS_STEPS
    assert got["calls"][-1]["progress"] == want["calls"][-1]["progress"]


async def test_the_typescript_client_on_a_python_sdk_upstream(farm: Farm, live: Live, admin: Client) -> None:
    modes = [(False, False), (False, True), (True, False), (True, True)]  # (stateless, JSON answers)
    for index, (stateless, json_response) in enumerate(modes):
        upstream = farm.add(UpstreamMCPServer(stateless=stateless, json_response=json_response))
        await register(admin, f"py{index}", upstream.url)
    calls = [
        {"name": f"py{i}__{tool}", "arguments": arguments, "progress": tool == "progress"}
        for i in range(4)
        for tool, arguments in [("add", {"a": 2, "b": 40}), ("progress", {"steps": 2}), ("fail", {"message": "no"})]
    ]
    got = await ts_client({"url": live.gateway, "token": admin.token, "calls": calls})
    assert {f"py{i}__echo" for i in range(4)} <= set(got["tools"])
    for i in range(4):
        added, progressed, failed = got["calls"][3 * i : 3 * i + 3]
        assert added["result"]["structuredContent"] == {"result": 42}, i
        # A server that answers JSON has no stream to send progress on: none is the right count.
        assert [p["progress"] for p in progressed["progress"]] == ([] if modes[i][1] else [1, 2]), i
        assert progressed["result"]["isError"] is False, i
        assert failed["result"]["isError"] is True, i
        assert "no" in failed["result"]["content"][0]["text"], i
