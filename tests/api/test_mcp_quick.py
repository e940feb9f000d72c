from __future__ import annotations

from devplane.sdk.chats import CreateChatRequest
from devplane.sdk.client import Client
from devplane.sdk.mcp import CreateMCPServerConfigRequest, UpdateMCPServerConfigRequest


async def test_mcp_crud_quick(owner: Client) -> None:
    created = await owner.create_mcp_server(
        CreateMCPServerConfigRequest.model_validate(
            {
                "display_name": "Sentry",
                "slug": "sentry",
                "transport": "streamable_http",
                "url": "https://mcp.sentry.dev/mcp",
                "auth_type": "api_key",
                "api_key_header": "X-Api-Key",
                "api_key_value": "SENTINEL-API-KEY",
                "availability": "default_on",
                "enabled": True,
                "tool_allow_list": [" a ", "", "a", "b"],
            }
        )
    )
    assert created.has_api_key and created.tool_allow_list == ["a", "b"]
    upd = await owner.update_mcp_server(created.id, UpdateMCPServerConfigRequest(display_name="Sentry 2"))
    assert upd.display_name == "Sentry 2" and upd.has_api_key
    chat = await owner.create_chat(CreateChatRequest())
    assert chat.mcp_server_ids == [created.id]
    await owner.delete_mcp_server(created.id)
    assert (await owner.chat(chat.id)).mcp_server_ids == []
    raw = (await owner.http.get("/api/v2/audit", headers=owner.headers())).text
    assert "SENTINEL-API-KEY" not in raw
