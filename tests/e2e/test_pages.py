"""Every page in light and dark: axe-core finds no WCAG 2.2 A/AA violation, the CSP refuses
nothing, no request leaves 127.0.0.1; plus first-user setup, sign in and sign out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import (
    DevplaneServer,
    Guard,
    assert_accessible,
    assert_no_csp_violation,
    devplane_server,
    new_page,
    sign_in,
)
from tests.e2e.helpers import api, create_server

PAGES = (
    "/chats",
    "/admin/mcp-servers",
    "/admin/mcp-servers/new",
    "/admin/users",
    "/admin/audit",
    "/account/tokens",
    "/account/connections",
)


def test_setup_sign_in_sign_out(browser: Any, guard: Guard) -> None:
    with devplane_server() as srv:
        page = new_page(browser, guard)
        page.goto(srv.url + "/")
        assert page.url == srv.url + "/setup"
        assert_accessible(page)
        page.get_by_label("Username").fill("root")
        page.get_by_label("Email").fill("root@example.com")
        page.get_by_label("Password").fill("Root-pass-1234")
        page.get_by_role("button", name="Create the owner account").click()
        page.wait_for_url(srv.url + "/login")
        assert_accessible(page)
        page.goto(srv.url + "/setup")
        assert page.url == srv.url + "/login"  # setup is gone once a user exists
        sign_in(page, srv.url, "root@example.com", "Root-pass-1234", next_path="/account/tokens")
        assert page.url == srv.url + "/account/tokens"
        page.get_by_role("button", name="Sign out root").click()
        page.wait_for_url(srv.url + "/login")
        page.goto(srv.url + "/account/tokens")
        assert page.url.startswith(srv.url + "/login?next=")
        assert_no_csp_violation(page)
        page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_is_accessible_and_csp_clean(
    browser: Any, guard: Guard, server: DevplaneServer, scheme: str
) -> None:
    with api(server.url) as client:
        made = create_server(client, slug=f"a11y-{scheme}", enabled=False)
        chat = client.post("/api/experimental/chats", json={"title": "Hello"}).json()
    page = new_page(browser, guard, color_scheme=scheme)
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    page.goto(server.url + "/login")
    assert_accessible(page)
    sign_in(page, server.url)
    for path in (*PAGES, f"/admin/mcp-servers/{made['id']}", f"/chats/{chat['id']}"):
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.title().endswith("· devplane"), path
        assert_accessible(page)
        assert_no_csp_violation(page)
    page.context.close()


def test_api_docs_render_from_local_files_under_the_csp(page: Any, server: DevplaneServer) -> None:
    page.goto(server.url + "/api/v2/docs")
    page.get_by_text("Search the audit log").first.wait_for()
    assert_no_csp_violation(page)
