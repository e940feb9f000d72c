"""The chat stream over real HTTP (uvicorn on 127.0.0.1, in the test's loop so the worker is ours).

The built-in echo provider and a real MCP upstream give the "done when" path: `/call` a tool and
see its result streamed back. Resume tests cut the connection and continue with Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from devplane.api.app import create_app
from devplane.api.serving import uvicorn_config
from devplane.api.state import AppState
from devplane.chat.provider import Finish, ModelRequest, StreamEvent, TextDelta, Usage
from devplane.chat.providers.registry import make_client
from devplane.config import Settings
from devplane.sdk.chats import CreateChatMessageRequest
from devplane.sdk.client import SESSION_HEADER, Client
from tests.chat import sse
from tests.chat.conftest import World

STREAM = "/api/experimental/chats/{}/stream"


@pytest.fixture
async def http_url(settings: Settings, state: AppState) -> AsyncIterator[str]:
    server = uvicorn.Server(uvicorn_config(create_app(settings, state), host="127.0.0.1", port=0))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


async def collect(
    url: str, token: str, chat_id: uuid.UUID, *, last_id: str | None = None, stop_after: int | None = None
) -> list[sse.Event]:
    """Events until the chat is idle again after a turn (or `stop_after` events: a cut connection)."""
    headers = {SESSION_HEADER: token} | ({"Last-Event-ID": last_id} if last_id else {})
    out: list[sse.Event] = []
    busy = False
    async with (
        httpx.AsyncClient(base_url=url, timeout=20) as http,
        http.stream("GET", STREAM.format(chat_id), headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for event in sse.read(response):
            out.append(event)
            if event.event == "status":
                status = event.data["status"]["status"]
                busy = busy or status in ("pending", "running")
                if busy and status in ("waiting", "error"):
                    break
            if stop_after is not None and len(out) >= stop_after:
                break
    return out


def _session_header(client: Client) -> str:
    (value,) = client.headers().values()
    return value


async def test_call_a_tool_with_echo_and_see_it_streamed(world: World, http_url: str) -> None:
    world.worker.runner.client_for = lambda p: make_client(p.provider, api_key=None, base_url=None)  # the real echo
    chat = await world.chat()
    token = _session_header(world.owner)
    reader = asyncio.create_task(collect(http_url, token, chat.id))
    await asyncio.sleep(0.2)
    await world.owner.create_chat_message(chat.id, CreateChatMessageRequest(content='/call tools__echo {"text": "hi"}'))
    events = await asyncio.wait_for(reader, timeout=20)
    ids = [e.id for e in events]
    assert all(ids)
    kinds = [e.event for e in events]
    assert "message_part" in kinds
    messages = [e.data["message"] for e in events if e.event == "message"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    result = messages[2]["content"][0]
    assert result["type"] == "tool-result"
    assert result["result"][0]["text"] == "hi"
    assert "hi" in "".join(p["text"] for p in messages[3]["content"] if p["type"] == "text")
    assert [e.data["title"] for e in events if e.event == "title_change"] == ['/call tools__echo {"text": "hi"}']
    assert events[-1].data["status"]["status"] == "waiting"


def _slow_words(words: list[str], pause: float = 0.03) -> Any:
    async def play(_: ModelRequest) -> AsyncIterator[StreamEvent]:
        for word in words:
            await asyncio.sleep(pause)
            yield TextDelta(word)
        yield Finish(reason="stop", usage=Usage())

    return play


async def test_resume_after_a_cut_has_no_gap_and_no_duplicate(world: World, http_url: str) -> None:
    words = [f"w{i} " for i in range(30)]
    world.script.entries = [_slow_words(words, pause=0.1)]
    chat = await world.chat()
    token = _session_header(world.owner)
    await world.owner.create_chat_message(chat.id, CreateChatMessageRequest(content="count"))
    await world.model_called()
    first = await collect(http_url, token, chat.id, stop_after=8)  # cut mid-answer
    rest = await collect(http_url, token, chat.id, last_id=first[-1].id)
    events = first + rest
    ids = [e.id for e in events if e.event in ("message", "message_part")]
    assert len(ids) == len(set(ids)), "a duplicate after resuming"
    before = [e.data["message_part"]["part"]["text"] for e in first if e.event == "message_part"]
    after = [e.data["message_part"]["part"]["text"] for e in rest if e.event == "message_part"]
    assert before
    assert after, "the resumed stream should pick up the live step"
    # The resumed stream continues exactly where the cut one stopped: no gap, no repeat.
    assert before + after == words[: len(before) + len(after)]
    committed = [e.data["message"] for e in events if e.event == "message"]
    answer = "".join(p["text"] for p in committed[-1]["content"] if p["type"] == "text")
    assert answer == "".join(words)
    assert [m["role"] for m in committed] == ["user", "assistant"]


async def test_a_stream_from_a_position_replays_only_what_followed(world: World, http_url: str) -> None:
    world.script.entries = [_slow_words(["a ", "b "]), _slow_words(["c "])]
    chat = await world.chat()
    token = _session_header(world.owner)
    await world.owner.create_chat_message(chat.id, CreateChatMessageRequest(content="one"))
    await world.settle(chat.id)
    everything = await collect(http_url, token, chat.id, stop_after=3)  # user, assistant, status
    assert [e.event for e in everything] == ["message", "message", "status"]
    after_user = await collect(http_url, token, chat.id, last_id=everything[0].id, stop_after=2)
    assert [e.event for e in after_user] == ["message", "status"]
    assert after_user[0].data["message"]["role"] == "assistant"


async def test_stream_of_someone_elses_chat_is_404(world: World, http_url: str, member_token: str) -> None:
    chat = await world.chat()
    async with httpx.AsyncClient(base_url=http_url) as http:
        response = await http.get(STREAM.format(chat.id), headers={SESSION_HEADER: member_token})
    assert response.status_code == 404


@pytest.fixture
async def member_token(owner: Client) -> str:
    from tests.factories import MEMBER_PASSWORD, login_as, make_user

    user = await make_user(owner, username="mallory", roles=(), password=MEMBER_PASSWORD)
    client = await login_as(owner, user, MEMBER_PASSWORD)
    token = _session_header(client)
    await client.close()
    return token
