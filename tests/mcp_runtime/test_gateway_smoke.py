from __future__ import annotations

import httpx2
from mcp import Client as MCPClient
from mcp.client.streamable_http import streamable_http_client

from devplane.sdk.chats import CreateChatRequest
from devplane.sdk.client import Client
from devplane.sdk.mcp_runtime import CallToolRequest
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.mcp_runtime.conftest import Live, register


async def test_gateway_and_chat_tools(live: Live, admin: Client) -> None:
    with UpstreamMCPServer() as upstream:
        config = await register(admin, "demo", upstream.url)
        chat = await admin.create_chat(CreateChatRequest())
        tools = (await admin.http.get(f"/api/experimental/chats/{chat.id}/tools", headers=admin.headers())).json()
        names = [t["name"] for t in tools["tools"]]
        assert "demo__echo" in names, tools
        assert tools["servers"][0]["status"] == "connected"
        resp = await admin.http.post(
            f"/api/experimental/chats/{chat.id}/tools/call",
            headers=admin.headers(),
            json=CallToolRequest(name="demo__echo", arguments={"text": "hello"}).model_dump(),
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["content"][0]["text"] == "hello"
        upstream.reset_log()
        assert admin.token
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {admin.token}"}) as http,
            MCPClient(streamable_http_client(live.gateway, http_client=http)) as mcp,
        ):
            listed = await mcp.list_tools()
            assert "demo__add" in [t.name for t in listed.tools]
            result = await mcp.call_tool("demo__add", {"a": 2, "b": 3})
            assert result.structured_content == {"result": 5}
            for _ in range(5):
                await mcp.call_tool("demo__echo", {"text": "x"})
        assert upstream.count_rpc("tools/call") == 6
        assert upstream.count_rpc("initialize") == 0
        assert config.id
