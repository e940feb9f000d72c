"""Key flows in the browser: MCP server admin with a real upstream, what a member sees, tokens,
the OAuth2 Connect popup (and forged messages ignored), the audit page; and the same flows
with the keyboard alone."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import DevplaneServer, assert_accessible, sign_in
from tests.e2e.flows import tab_to
from tests.e2e.helpers import api, create_member, create_server
from tests.factories import MEMBER_PASSWORD
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.fixtures.oauth_server import OAuthServer


def test_first_tab_reaches_skip_to_content(page: Any, server: DevplaneServer) -> None:
    sign_in(page, server.url)
    page.goto(server.url + "/account/tokens")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_create_edit_test_disable_delete_a_server(page: Any, server: DevplaneServer) -> None:
    sign_in(page, server.url)
    with UpstreamMCPServer("streamable_http") as upstream:
        page.goto(server.url + "/admin/mcp-servers/new")
        page.get_by_label("Display name").fill("Upstream tools")
        page.get_by_label("Slug").fill("upstream-tools")
        page.get_by_label("Server URL").fill(upstream.url)
        # Only the chosen authentication type's fields are shown.
        assert not page.get_by_label("Header name").is_visible()
        page.get_by_label("Authentication type").select_option("api_key")
        assert page.get_by_label("Header name").is_visible()
        assert not page.get_by_label("Client ID").is_visible()
        page.get_by_label("Authentication type").select_option("none")
        page.get_by_label("On by default").check()
        page.get_by_label("Deny list").fill("echo")
        page.get_by_role("button", name="Create server").click()
        page.wait_for_url(re.compile(r".*/admin/mcp-servers/[0-9a-f-]+\?saved=1"))
        page.get_by_role("button", name="Test connection").click()
        result = page.locator("#test-result")
        result.wait_for()
        assert "Connected" in result.inner_text()
        assert "Filtered out" in result.inner_text()  # echo, denied
        assert "Allowed" in result.inner_text()
        assert_accessible(page)
        page.get_by_label("Display name").fill("Upstream tools 2")
        with page.expect_navigation():
            page.get_by_role("button", name="Save").click()
        page.goto(server.url + "/admin/mcp-servers")
        row = page.get_by_role("row").filter(has_text="Upstream tools 2")
        row.get_by_text("Connected").wait_for()  # live health, as text
        with page.expect_navigation():
            row.get_by_role("button", name="Disable").click()
        assert "Disabled" in page.get_by_role("row").filter(has_text="Upstream tools 2").inner_text()
        with page.expect_navigation():  # waits for "load": app.js (deferred) has run
            page.get_by_role("link", name="Upstream tools 2").click()
        page.get_by_role("button", name="Delete this server").click()
        dialog = page.get_by_role("dialog")
        assert dialog.is_visible()
        dialog.get_by_role("button", name="Delete").click()
        page.wait_for_url(server.url + "/admin/mcp-servers")
        assert page.get_by_text("Upstream tools 2").count() == 0
    page.goto(server.url + "/admin/audit?resource_type=mcp_server_config")
    text = page.locator("main").inner_text()
    assert "Upstream tools 2" in text or "upstream-tools" in text
    for action in ("create", "write", "delete"):
        assert page.get_by_role("cell", name=action, exact=True).count() >= 1


def test_member_sees_only_enabled_servers_and_no_admin_links(page: Any, server: DevplaneServer) -> None:
    with api(server.url) as client:
        create_server(client, slug="member-visible", display_name="Member visible")
        create_server(client, slug="member-hidden", display_name="Member hidden", enabled=False)
        create_server(client, slug="member-forced", display_name="Member forced", availability="force_on")
        email = create_member(client, "pat")
    sign_in(page, server.url, email, MEMBER_PASSWORD)
    page.goto(server.url + "/chats")
    nav = page.get_by_role("navigation", name="Primary")
    for label in ("MCP servers", "Users", "Audit"):
        assert nav.get_by_role("link", name=label).count() == 0
    assert page.get_by_label("Member visible").is_checked()  # default_on, pre-ticked on a new chat
    assert page.get_by_text("Member hidden").count() == 0
    forced = page.get_by_label("Member forced")
    assert forced.is_checked()
    assert forced.is_disabled()
    assert page.get_by_text("Always on — set by an administrator.").count() >= 1
    response = page.goto(server.url + "/admin/mcp-servers")
    assert response is not None
    assert response.status == 404


def test_token_create_copy_and_revoke(page: Any, server: DevplaneServer) -> None:
    sign_in(page, server.url)
    page.goto(server.url + "/account/tokens")
    page.get_by_label("Name").fill("ci-box")
    with page.expect_navigation():
        page.get_by_role("button", name="Create token").click()
    value = page.locator("#new-token-value").input_value()
    assert re.fullmatch(r"[A-Za-z0-9]{10}-[A-Za-z0-9]{22}", value)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied.").wait_for()
    page.goto(server.url + "/account/tokens")
    assert value not in page.content()  # shown once
    key_id = value.split("-")[0]
    row = page.get_by_role("row").filter(has_text=key_id)
    row.get_by_role("button", name="Revoke").click()
    with page.expect_navigation():
        page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    assert page.get_by_text(key_id).count() == 0
    page.goto(server.url + "/admin/audit?resource_type=api_key")
    assert page.get_by_role("cell", name="delete", exact=True).count() >= 1


def test_oauth2_connect_in_a_popup_and_forged_messages_ignored(page: Any, server: DevplaneServer) -> None:
    with OAuthServer() as oauth, api(server.url) as client:
        common = {
            "auth_type": "oauth2",
            "oauth2_client_id": oauth.client.client_id,
            "oauth2_client_secret": oauth.client.client_secret,
            "oauth2_token_url": oauth.token_url,
            "availability": "default_off",
        }
        real = create_server(
            client, slug="tracker", display_name="Tracker", oauth2_auth_url=oauth.authorize_url, **common
        )
        # A provider page that never redirects back: the popup stays on a foreign origin.
        stuck = create_server(
            client,
            slug="stuck",
            display_name="Stuck",
            oauth2_auth_url=oauth.base_url + "/.well-known/oauth-authorization-server",
            **common,
        )
        sign_in(page, server.url)
        page.goto(server.url + "/account/connections")

        stuck_row = page.locator(f'[data-server-row="{stuck["id"]}"]')
        with page.expect_popup() as opened:
            stuck_row.get_by_role("button", name="Connect").click()
        popup = opened.value
        popup.wait_for_load_state()
        assert popup.url.startswith(oauth.base_url)
        assert popup.evaluate("[window.outerWidth, window.outerHeight]")[0] > 0
        forged = {"type": "mcp-oauth2-complete", "serverID": stuck["id"]}
        # From the popup but another origin; then from our origin but not the popup.
        popup.evaluate("m => window.opener.postMessage(m, '*')", forged)
        page.evaluate("m => window.postMessage(m, '*')", forged)
        page.wait_for_timeout(300)
        assert page.evaluate("document.body.getAttribute('data-oauth-connected')") is None
        assert stuck_row.get_by_text("Waiting for the provider…").count() == 1
        popup.close()

        real_row = page.locator(f'[data-server-row="{real["id"]}"]')
        with page.expect_popup() as opened:
            real_row.get_by_role("button", name="Connect").click()
        opened.value.wait_for_event("close")
        page.locator(f'[data-server-row="{real["id"]}"]').get_by_text("Connected").wait_for()
        assert page.locator(f'[data-server-row="{real["id"]}"]').get_by_role("button", name="Disconnect").count() == 1
        with page.expect_navigation():
            page.locator(f'[data-server-row="{real["id"]}"]').get_by_role("button", name="Disconnect").click()
        page.locator(f'[data-server-row="{real["id"]}"]').get_by_role("button", name="Connect").wait_for()


def test_keyboard_alone_creates_a_server_and_revokes_a_token(page: Any, server: DevplaneServer) -> None:
    sign_in(page, server.url)
    page.goto(server.url + "/admin/mcp-servers/new")
    tab_to(page, "#f-display_name")
    page.keyboard.type("Keyboard server")
    tab_to(page, "#f-slug")
    page.keyboard.type("keyboard-server")
    tab_to(page, "#f-enabled")
    before = page.is_checked("#f-enabled")
    page.keyboard.press("Space")
    assert page.is_checked("#f-enabled") != before
    tab_to(page, "#f-url")
    page.keyboard.type("http://127.0.0.1:9/mcp")
    tab_to(page, "button[type=submit]:not(.outline)")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*\?saved=1"))

    page.goto(server.url + "/account/tokens")
    tab_to(page, "#t-name")
    page.keyboard.type("keyboard-token")
    page.keyboard.press("Enter")
    page.locator("#new-token-value").wait_for()
    key_id = page.locator("#new-token-value").input_value().split("-")[0]
    page.goto(server.url + "/account/tokens")
    tab_to(page, f'[data-open-dialog="revoke-{key_id}"]')
    page.keyboard.press("Enter")
    assert page.get_by_role("dialog").is_visible()
    tab_to(page, f"#revoke-{key_id} button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_text(key_id).count() == 0
