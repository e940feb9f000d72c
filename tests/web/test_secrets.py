"""Secrets are write-only: render every page and fragment with every secret set, and grep the
HTML for each secret and its first 8 characters."""

from __future__ import annotations

import uuid

from devplane.sdk.client import Client
from devplane.sdk.mcp import CreateMCPServerConfigRequest
from tests.web.conftest import Browser
from tests.web.test_pages import server_form

SECRETS = {
    "oauth2_client_secret": "Zq7oauthClientSecretVALUE0001",
    "api_key_value": "Kx9apiKeySecretVALUE00000002",
    "header": "Hv3customHeaderSecretVALUE03",
}


def _assert_clean(path: str, html: str) -> None:
    for name, value in SECRETS.items():
        assert value not in html, f"{path} shows {name}"
        assert value[:8] not in html, f"{path} shows the start of {name}"


async def test_no_page_or_fragment_contains_a_stored_secret(owner_page: Browser, owner: Client) -> None:
    base = {"tool_allow_list": [], "tool_deny_list": [], "enabled": True, "transport": "streamable_http"}
    oauth = await owner.create_mcp_server(
        CreateMCPServerConfigRequest.model_validate(
            {
                **base,
                "display_name": "OAuth",
                "slug": "oauth",
                "url": "http://127.0.0.1:9/mcp",
                "auth_type": "oauth2",
                "availability": "default_on",
                "oauth2_client_id": "client-id",
                "oauth2_client_secret": SECRETS["oauth2_client_secret"],
                "oauth2_auth_url": "http://127.0.0.1:9/authorize",
                "oauth2_token_url": "http://127.0.0.1:9/token",
            }
        )
    )
    key = await owner.create_mcp_server(
        CreateMCPServerConfigRequest.model_validate(
            {
                **base,
                "display_name": "Key",
                "slug": "key",
                "url": "http://127.0.0.1:9/mcp",
                "auth_type": "api_key",
                "availability": "force_on",
                "api_key_header": "X-Api-Key",
                "api_key_value": SECRETS["api_key_value"],
            }
        )
    )
    headers = await owner.create_mcp_server(
        CreateMCPServerConfigRequest.model_validate(
            {
                **base,
                "display_name": "Headers",
                "slug": "headers",
                "url": "http://127.0.0.1:9/mcp",
                "auth_type": "custom_headers",
                "availability": "default_off",
                "custom_headers": {"X-Secret": SECRETS["header"]},
            }
        )
    )
    chat = await owner_page.post("/chats", {"title": "t", "picker": "1"})
    chat_path = chat.headers["location"]
    paths = [
        "/chats",
        chat_path,
        "/admin/mcp-servers",
        "/admin/mcp-servers/new",
        "/admin/users",
        "/admin/audit",
        "/account/tokens",
        "/account/connections",
    ]
    for server in (oauth, key, headers):
        paths += [f"/admin/mcp-servers/{server.id}", f"/admin/mcp-servers/{server.id}/test"]
    for path in paths:
        response = await owner_page.get(path)
        assert response.status_code == 200, path
        _assert_clean(path, response.text)
    # The edit page says each secret is set (without showing it) and offers to clear it.
    edit = (await owner_page.get(f"/admin/mcp-servers/{key.id}")).text
    assert "Set — leave blank to keep." in edit
    assert 'name="clear_api_key_value"' in edit
    # A failed submit re-renders the posted form but never echoes a posted secret.
    posted = await owner_page.post(
        f"/admin/mcp-servers/{key.id}",
        server_form(
            slug="NOT VALID", auth_type="api_key", api_key_header="X-Api-Key", api_key_value=SECRETS["api_key_value"]
        ),
    )
    assert posted.status_code == 400
    _assert_clean("failed submit", posted.text)


async def test_blank_secret_keeps_and_clear_box_clears(owner_page: Browser, owner: Client) -> None:
    made = await owner_page.post(
        "/admin/mcp-servers/new",
        server_form(auth_type="api_key", api_key_header="X-Api-Key", api_key_value=SECRETS["api_key_value"]),
    )
    server_id = uuid.UUID(made.headers["location"].split("/")[-1].split("?")[0])
    assert (await owner.mcp_server(server_id)).has_api_key
    kept = await owner_page.post(
        f"/admin/mcp-servers/{server_id}",
        server_form(auth_type="api_key", api_key_header="X-Api-Key", api_key_value=""),
    )
    assert kept.status_code == 303
    assert (await owner.mcp_server(server_id)).has_api_key
    cleared = await owner_page.post(
        f"/admin/mcp-servers/{server_id}",
        server_form(auth_type="none", clear_api_key_value="1"),
    )
    assert cleared.status_code == 303
    assert not (await owner.mcp_server(server_id)).has_api_key
    audit = (await owner_page.get("/admin/audit?resource_type=mcp_server_config")).text
    assert "[secret changed]" in audit
    _assert_clean("audit", audit)
