"""The chat pages on the real chat loop: the built-in echo provider answers, `/call` runs a tool
on a real MCP upstream (shown as a collapsible block), and Stop interrupts a slow tool call."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import DevplaneServer, chromium_path, devplane_server, sign_in
from tests.e2e.helpers import api, create_server
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME
from tests.fixtures.mcp_servers import UpstreamMCPServer

SLUG = "loop-tools"


@pytest.fixture(scope="module")
def loop_server() -> Iterator[DevplaneServer]:
    """A server of its own: a default model makes every chat run turns, which the package's other
    chat tests (a stored message and no turn) must not see."""
    chromium_path()
    with devplane_server() as srv:
        response = httpx.post(
            f"{srv.url}/api/v2/users/first",
            json={"email": OWNER_EMAIL, "username": OWNER_USERNAME, "password": OWNER_PASSWORD},
        )
        assert response.status_code == 201, response.text
        yield srv


@pytest.fixture
def upstream() -> Iterator[UpstreamMCPServer]:
    with UpstreamMCPServer("streamable_http") as srv:
        yield srv


def _echo_model(client: httpx.Client) -> None:
    """The built-in echo provider and a default model, as an admin sets them up through the API."""
    response = client.post("/api/experimental/chats/providers", json={"provider": "echo"})
    assert response.status_code == 201, response.text
    response = client.post(
        "/api/experimental/chats/model-configs",
        json={"provider_id": response.json()["id"], "model": "echo", "context_limit": 8192, "is_default": True},
    )
    assert response.status_code == 201, response.text


def _wait_status(client: httpx.Client, chat_id: str, want: str) -> dict[str, Any]:
    chat: dict[str, Any] = {}
    for _ in range(200):  # bounded: 20 s
        chat = client.get(f"/api/experimental/chats/{chat_id}").json()
        if chat["status"] == want:
            return chat
        time.sleep(0.1)
    raise AssertionError(f"chat stayed {chat.get('status')}, wanted {want}")


def _send(page: Any, text: str) -> None:
    page.get_by_label("Message").fill(text)
    with page.expect_navigation():
        page.get_by_role("button", name="Send").click()


def test_echo_answer_a_tool_call_block_and_stop(page: Any, loop_server: DevplaneServer, upstream: Any) -> None:
    server = loop_server
    with api(server.url) as client:
        _echo_model(client)
        create_server(client, slug=SLUG, display_name="Loop tools", url=upstream.url, availability="default_off")
    sign_in(page, server.url)
    page.goto(server.url + "/chats")
    page.get_by_label("Loop tools").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Start chat").click()
    chat_id = page.url.rsplit("/", 1)[1]

    # A plain message: the answer streams in, then the committed message replaces the live text.
    _send(page, "hello streaming world")
    page.locator(".message.role-assistant", has_text="hello streaming world").wait_for()
    with api(server.url) as client:
        _wait_status(client, chat_id, "waiting")

    # A tool call: one block with server, tool, arguments, result and duration, folded by default.
    _send(page, f'/call {SLUG}__echo {{"text": "hi from the tool"}}')
    block = page.locator("details.tool-call", has_text=f"{SLUG}__echo")
    block.wait_for()
    page.locator(".message.role-assistant", has_text="hi from the tool").last.wait_for()
    assert block.count() == 1
    assert block.get_attribute("open") is None
    body = block.locator("dl")
    assert not body.is_visible()
    block.locator("summary").click()
    assert body.is_visible()
    text = body.inner_text()
    for expected in (SLUG, "echo", '"hi from the tool"', "Result", " ms"):
        assert expected in text, (expected, text)
    block.locator("summary").click()
    assert not body.is_visible()

    # Stop interrupts a slow tool call: the chat ends waiting and the block says so.
    _send(page, f'/call {SLUG}__slow {{"seconds": 20}}')
    stop = page.get_by_role("button", name="Stop")
    page.wait_for_function("() => !document.getElementById('stop').disabled")
    with page.expect_navigation():  # the interrupted turn's message reloads the page
        stop.click()
    with api(server.url) as client:
        _wait_status(client, chat_id, "waiting")
    page.reload()
    slow = page.locator("details.tool-call", has_text=f"{SLUG}__slow")
    slow.locator("summary").click()
    assert "(error)" in slow.locator("summary").inner_text()
    assert "interrupted" in slow.inner_text()
