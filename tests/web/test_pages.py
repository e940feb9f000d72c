"""Pages through the same services and authorization as the JSON API: who sees what, setup,
the MCP server admin flow, users, tokens and the audit page."""

from __future__ import annotations

import re
import uuid

import httpx

from devplane.sdk.client import Client
from devplane.sdk.mcp import CreateMCPServerConfigRequest
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.web.conftest import Browser

ADMIN_PAGES = ("/admin/mcp-servers", "/admin/mcp-servers/new", "/admin/users", "/admin/audit")
ADMIN_LINKS = ('href="/admin/mcp-servers"', 'href="/admin/users"', 'href="/admin/audit"')


def server_form(**overrides: str) -> dict[str, str]:
    form = {
        "display_name": "Docs",
        "slug": "docs",
        "description": "Search the docs",
        "url": "http://127.0.0.1:9/mcp",
        "transport": "streamable_http",
        "auth_type": "none",
        "availability": "default_on",
        "enabled": "on",
        "tool_allow_list": "",
        "tool_deny_list": "",
    }
    form.update(overrides)
    return form


async def test_setup_only_while_there_is_no_user(app_transport: httpx.ASGITransport) -> None:
    async with httpx.AsyncClient(transport=app_transport, base_url="http://devplane.test") as http:
        assert (await http.get("/login")).headers["location"] == "/setup"
        bad = await http.post("/setup", data={"username": "root", "email": "not-an-email", "password": "x"})
        assert bad.status_code == 400
        assert 'aria-invalid="true"' in bad.text
        assert 'role="alert"' in bad.text
        made = await http.post(
            "/setup", data={"username": "root", "email": "root@example.com", "password": "Root-pass-1234"}
        )
        assert made.status_code == 303
        assert made.headers["location"] == "/login"
        assert (await http.get("/setup")).headers["location"] == "/login"
        again = await http.post(
            "/setup", data={"username": "x", "email": "x@example.com", "password": "Root-pass-1234"}
        )
        assert again.headers["location"] == "/login"
        signed = await http.post("/login", data={"email": "root@example.com", "password": "Root-pass-1234"})
        assert signed.headers["location"] == "/"
        assert (await http.get("/")).headers["location"] == "/chats"  # the agents experiment is on
        chats = await http.get("/chats")
        assert chats.status_code == 200
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', chats.text)
        assert csrf is not None
        out = await http.post("/logout", data={"csrf_token": csrf.group(1)})
        assert out.headers["location"] == "/login"
        assert (await http.get("/chats")).status_code == 303  # the session is gone, not just the cookie


async def test_wrong_password_shows_an_error_and_sets_no_cookie(
    owner: Client, app_transport: httpx.ASGITransport
) -> None:
    async with httpx.AsyncClient(transport=app_transport, base_url="http://devplane.test") as http:
        response = await http.post("/login", data={"email": "owner@example.com", "password": "wrong-password"})
        assert response.status_code == 401
        assert "set-cookie" not in response.headers
        assert 'role="alert"' in response.text


async def test_member_gets_404_on_admin_pages_and_no_admin_links(member_page: Browser, owner: Client) -> None:
    for path in ADMIN_PAGES:
        response = await member_page.get(path)
        assert response.status_code == 404, path
    page = await member_page.get("/chats")
    assert page.status_code == 200
    for link in ADMIN_LINKS:
        assert link not in page.text
    assert 'href="/account/tokens"' in page.text


async def test_auditor_reads_servers_and_audit_but_cannot_write(auditor_page: Browser, owner: Client) -> None:
    made = await owner.create_mcp_server(
        CreateMCPServerConfigRequest.model_validate(
            {**server_form(), "enabled": True, "tool_allow_list": [], "tool_deny_list": []}
        )
    )
    assert (await auditor_page.get("/admin/mcp-servers")).status_code == 200
    assert (await auditor_page.get("/admin/audit")).status_code == 200
    assert (await auditor_page.get("/admin/users")).status_code == 404
    assert (await auditor_page.get("/admin/mcp-servers/new")).status_code == 404
    edit = await auditor_page.get(f"/admin/mcp-servers/{made.id}")
    assert edit.status_code == 200
    assert "<fieldset disabled" in edit.text
    assert (await auditor_page.post(f"/admin/mcp-servers/{made.id}/delete")).status_code == 404
    assert (await owner.mcp_server(made.id)).id == made.id


async def test_member_sees_only_enabled_servers_in_the_picker(member_page: Browser, owner: Client) -> None:
    for slug, enabled in (("shown", True), ("hidden", False)):
        await owner.create_mcp_server(
            CreateMCPServerConfigRequest.model_validate(
                {
                    **server_form(display_name=slug.title(), slug=slug),
                    "enabled": enabled,
                    "tool_allow_list": [],
                    "tool_deny_list": [],
                }
            )
        )
    page = await member_page.get("/chats")
    assert "Shown" in page.text
    assert "Hidden" not in page.text
    assert "127.0.0.1:9" not in page.text  # members never see a server's URL


async def test_create_edit_disable_delete_a_server(owner_page: Browser, owner: Client) -> None:
    invalid = await owner_page.post("/admin/mcp-servers/new", server_form(slug="Not A Slug", url="ftp://x"))
    assert invalid.status_code == 400
    assert 'id="e-slug"' in invalid.text
    assert 'id="e-url"' in invalid.text
    created = await owner_page.post("/admin/mcp-servers/new", server_form())
    assert created.status_code == 303
    server_id = uuid.UUID(created.headers["location"].split("/")[-1].split("?")[0])
    assert (await owner.mcp_server(server_id)).enabled

    listing = await owner_page.get("/admin/mcp-servers")
    assert "Docs" in listing.text
    assert "127.0.0.1:9" in listing.text
    assert "Disabled" not in listing.text

    edited = await owner_page.post(
        f"/admin/mcp-servers/{server_id}", server_form(display_name="Docs 2", tool_deny_list="delete_*\nwipe")
    )
    assert edited.status_code == 303
    config = await owner.mcp_server(server_id)
    assert config.display_name == "Docs 2"
    assert config.tool_deny_list == ["delete_*", "wipe"]

    disabled = await owner_page.post(f"/admin/mcp-servers/{server_id}/enabled", {})
    assert disabled.status_code == 303
    assert not (await owner.mcp_server(server_id)).enabled
    assert "Disabled" in (await owner_page.get("/admin/mcp-servers")).text

    deleted = await owner_page.post(f"/admin/mcp-servers/{server_id}/delete", {})
    assert deleted.status_code == 303
    assert (await owner_page.get(f"/admin/mcp-servers/{server_id}")).status_code == 404

    audit = await owner_page.get("/admin/audit?resource_type=mcp_server_config")
    for action in ("create", "write", "delete"):
        assert f"<td>{action}</td>" in audit.text


async def test_test_connection_lists_the_upstreams_tools(owner_page: Browser) -> None:
    with UpstreamMCPServer("streamable_http") as upstream:
        created = await owner_page.post("/admin/mcp-servers/new", server_form(url=upstream.url, tool_deny_list="echo"))
        server_id = created.headers["location"].split("/")[-1].split("?")[0]
        result = await owner_page.get(f"/admin/mcp-servers/{server_id}/test", headers={"HX-Request": "true"})
        assert result.status_code == 200
        assert "Connected" in result.text
        assert "<code>echo</code>" in result.text
        assert "Filtered out" in result.text
        assert "Allowed" in result.text
        health = await owner_page.get(f"/admin/mcp-servers/{server_id}/health", headers={"HX-Request": "true"})
        assert "Connected" in health.text
    down = await owner_page.post(
        "/admin/mcp-servers/new", server_form(slug="down", display_name="Down", url="http://127.0.0.1:9/mcp")
    )
    down_id = down.headers["location"].split("/")[-1].split("?")[0]
    result = await owner_page.get(f"/admin/mcp-servers/{down_id}/test", headers={"HX-Request": "true"})
    assert result.status_code == 200
    assert re.search(r">(Error|Timeout)<", result.text)


async def test_users_page_creates_sets_roles_and_suspends(owner_page: Browser, owner: Client) -> None:
    made = await owner_page.post(
        "/admin/users",
        [
            ("username", "newbie"),
            ("email", "newbie@example.com"),
            ("password", "Newbie-pass-1234"),
            ("roles", "auditor"),
        ],
    )
    assert made.status_code == 303
    user = await owner.user("newbie")
    assert [r.value for r in user.roles] == ["auditor"]
    await owner_page.post(f"/admin/users/{user.id}/roles", [("roles", "user-admin")])
    assert [r.value for r in (await owner.user("newbie")).roles] == ["user-admin"]
    await owner_page.post(f"/admin/users/{user.id}/status", {"status": "suspended"})
    assert (await owner.user("newbie")).status.value == "suspended"
    duplicate = await owner_page.post(
        "/admin/users", {"username": "newbie", "email": "other@example.com", "password": "Newbie-pass-1234"}
    )
    assert duplicate.status_code == 409
    assert 'role="alert"' in duplicate.text
    assert "newbie@example.com" in duplicate.text  # the list still renders after the refused write


async def test_token_is_shown_once_and_revoked_after_confirm(owner_page: Browser, owner: Client) -> None:
    made = await owner_page.post("/account/tokens", {"name": "laptop", "lifetime_days": "7"})
    assert made.status_code == 201
    token = re.search(r'id="new-token-value" type="text" readonly value="([^"]+)"', made.text)
    assert token is not None
    again = await owner_page.get("/account/tokens")
    assert token.group(1) not in again.text
    key_id = token.group(1).split("-")[0]
    async with Client(owner.url, token=token.group(1), transport=owner.http._transport) as as_token:
        assert (await as_token.me()).username == "owner"
    revoked = await owner_page.post(f"/account/tokens/{key_id}/revoke", {})
    assert revoked.status_code == 303
    assert key_id not in (await owner_page.get("/account/tokens")).text
    audit = await owner_page.get("/admin/audit?resource_type=api_key")
    assert "<td>delete</td>" in audit.text
