"""Chat pages: a new chat from the picker, and a message by keyboard alone that also changes the
selection (no model configured, so the message is stored and no turn runs)."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import DevplaneServer, sign_in
from tests.e2e.flows import tab_to
from tests.e2e.helpers import api, create_server


def test_new_chat_and_a_keyboard_message_that_changes_the_selection(page: Any, server: DevplaneServer) -> None:
    with api(server.url) as client:
        on = create_server(client, slug="chat-on", display_name="Chat on", availability="default_on")
        off = create_server(client, slug="chat-off", display_name="Chat off", availability="default_off")
    sign_in(page, server.url)
    page.goto(server.url + "/chats")
    page.get_by_label("Title (optional)").fill("Picker chat")
    assert page.get_by_label("Chat on").is_checked()
    assert not page.get_by_label("Chat off").is_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="Start chat").click()
    assert re.search(r"/chats/[0-9a-f-]+$", page.url)
    chat_id = page.url.rsplit("/", 1)[1]
    assert page.get_by_text("Live updates are not available").is_hidden()  # the stream answers

    tab_to(page, "#m-content")
    page.keyboard.type("hello from the keyboard")
    tab_to(page, ".composer details > summary")
    page.keyboard.press("Enter")  # open "Tools for this chat"
    tab_to(page, f'.composer input[value="{off["id"]}"]')
    page.keyboard.press("Space")
    tab_to(page, ".composer button[type=submit]:not(.outline)")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_text("hello from the keyboard").count() == 1
    with api(server.url) as client:
        chat = client.get(f"/api/experimental/chats/{chat_id}").json()
    assert set(chat["mcp_server_ids"]) == {on["id"], off["id"]}
