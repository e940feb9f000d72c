"""The chat loop through the real `openai` and `anthropic` SDKs against the loopback fake model server.

test_loop.py drives the loop with an in-process scripted ModelClient; here nothing is replaced: the
providers and model configs are registered through the API, the app's own worker builds its clients
with the provider registry, the SDKs talk HTTP to tests/fixtures/model_server.py, and the tools run
on a real MCP upstream. Each case asserts on what the fake recorded (the tool results the model saw).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devplane.api.state import AppState
from devplane.chat.worker import ChatWorker
from devplane.sdk.chat_models import CreateChatModelConfigRequest, CreateChatProviderRequest, ProviderKind
from devplane.sdk.chats import Chat, ChatMessage, CreateChatMessageRequest, CreateChatRequest
from devplane.sdk.client import Client
from devplane.sdk.mcp import CreateMCPServerConfigRequest
from tests.chat.provider_helpers import WIRES, endpoint, serve
from tests.chat.test_stream import collect, http_url  # noqa: F401 - http_url is a fixture used here
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.fixtures.model_server import FakeEndpoint, FakeModelServer, HttpError, Reply, StreamError, ToolUse

pytestmark = pytest.mark.parametrize("wire", WIRES)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeModelServer]:
    yield from serve()


@pytest.fixture
def upstream() -> Iterator[UpstreamMCPServer]:
    with UpstreamMCPServer(transport="streamable_http") as server:
        yield server


@dataclass
class Wired:
    owner: Client
    state: AppState
    model: FakeEndpoint
    model_config_id: uuid.UUID
    server_id: uuid.UUID
    events: list[dict[str, Any]]
    delays: list[float]

    @property
    def worker(self) -> ChatWorker:
        worker: ChatWorker = self.state.extras["chat_worker"]
        return worker

    async def chat(self) -> Chat:
        req = CreateChatRequest(mcp_server_ids=[self.server_id], model_config_id=self.model_config_id)
        return await self.owner.create_chat(req)

    async def send(self, chat_id: uuid.UUID, text: str) -> None:
        await self.owner.create_chat_message(chat_id, CreateChatMessageRequest(content=text))

    async def settle(self, chat_id: uuid.UUID, *, within: float = 20.0) -> Chat:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            chat = await self.owner.chat(chat_id)
            if chat.status in ("waiting", "error") and chat_id not in self.worker.runs:
                return chat
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"chat still {chat.status} after {within} s")
            await asyncio.sleep(0.02)

    def bodies(self) -> list[dict[str, Any]]:
        return [r.body for r in self.model.requests]

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]


@pytest.fixture
async def wired(owner: Client, state: AppState, upstream: UpstreamMCPServer, fake: FakeModelServer, wire: str) -> Wired:
    fake.reset()
    kind = ProviderKind.OPENAI_COMPAT if wire == "openai" else ProviderKind.ANTHROPIC
    model = endpoint(fake, wire)
    provider = await owner.create_chat_provider(
        CreateChatProviderRequest(provider=kind, base_url=model.base_url, api_key="any-key-at-all")
    )
    config = await owner.create_chat_model_config(
        CreateChatModelConfigRequest(provider_id=provider.id, model=f"{wire}-fake", context_limit=8192)
    )
    server = await owner.create_mcp_server(
        CreateMCPServerConfigRequest.model_validate(
            {
                "display_name": "Tools",
                "slug": "tools",
                "transport": "streamable_http",
                "url": upstream.url,
                "auth_type": "none",
                "availability": "default_off",
                "enabled": True,
            }
        )
    )
    worker: ChatWorker = state.extras["chat_worker"]
    runner = worker.runner
    # The worker keeps its real client factory (the provider registry): only the backoff wait and
    # the event fan-out are observed. Delays are recorded, not slept.
    events: list[dict[str, Any]] = []
    delays: list[float] = []
    publish = runner.publish

    def record(chat_id: uuid.UUID, event: dict[str, Any]) -> None:
        events.append(event)
        publish(chat_id, event)

    async def no_wait(delay: float) -> None:
        delays.append(delay)

    runner.publish = record
    runner.sleep = no_wait
    return Wired(owner, state, model, config.id, server.id, events, delays)


def parts(message: ChatMessage, kind: str) -> list[dict[str, Any]]:
    return [p for p in message.content if p.get("type") == kind]


def said(message: ChatMessage) -> str:
    return "".join(p["text"] for p in parts(message, "text"))


def tool_results_seen(wire: str, body: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(call id, text, is_error) of the tool results in the last model request, in wire order."""
    if wire == "openai":
        tail = [m for m in body["messages"] if m["role"] == "tool"]
        return [(m["tool_call_id"], m["content"], False) for m in tail]
    last = body["messages"][-1]
    assert last["role"] == "user"
    out = []
    for block in last["content"]:
        assert block["type"] == "tool_result"
        text = "".join(b["text"] for b in block["content"] if b["type"] == "text")
        out.append((block["tool_use_id"], text, bool(block.get("is_error"))))
    return out


async def test_text_only(wired: Wired, wire: str) -> None:
    wired.model.enqueue(Reply(text="hello from the wire", text_parts=3))
    chat = await wired.chat()
    await wired.send(chat.id, "hi")
    done = await wired.settle(chat.id)
    assert (done.status, done.last_error) == ("waiting", None)
    _, answer = await wired.owner.chat_messages(chat.id)
    assert (answer.role, said(answer)) == ("assistant", "hello from the wire")
    assert answer.usage is not None
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (11, 7)  # FakeUsage's defaults
    (body,) = wired.bodies()
    assert body["model"] == f"{wire}-fake"
    assert body["stream"] is True
    assert body["messages"][-1]["role"] == "user"
    assert "hi" in json.dumps(body["messages"][-1]["content"])
    names = {t["function"]["name"] if wire == "openai" else t["name"] for t in body["tools"]}
    assert "tools__echo" in names
    streamed = [e["message_part"]["part"]["text"] for e in wired.kinds("message_part")]
    assert len(streamed) == 3  # the answer streamed in the fake's three parts
    assert "".join(streamed) == "hello from the wire"


async def test_one_tool_result_reaches_the_next_request(wired: Wired, wire: str, upstream: UpstreamMCPServer) -> None:
    wired.model.enqueue(
        Reply(tool_calls=[ToolUse("tools__echo", '{"text": "ping"}', id="call_echo_1")]),
        Reply(text="done"),
    )
    chat = await wired.chat()
    await wired.send(chat.id, "call it")
    assert (await wired.settle(chat.id)).status == "waiting"
    _, call, result, answer = await wired.owner.chat_messages(chat.id)
    (call_part,) = parts(call, "tool-call")
    assert (call_part["tool_call_id"], call_part["tool_name"]) == ("call_echo_1", "tools__echo")
    assert parts(result, "tool-result")[0]["result"][0]["text"] == "ping"
    assert said(answer) == "done"
    assert upstream.count_rpc("tools/call") == 1
    first, second = wired.bodies()
    assert tool_results_seen(wire, second) == [("call_echo_1", "ping", False)]
    # The assistant's call is replayed before its result, with the arguments the model sent.
    if wire == "openai":
        replayed = [m for m in second["messages"] if m["role"] == "assistant"][-1]["tool_calls"]
        assert [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in replayed] == [
            ("call_echo_1", "tools__echo", {"text": "ping"})
        ]
    else:
        replayed = [b for b in second["messages"][-2]["content"] if b["type"] == "tool_use"]
        assert [(b["id"], b["name"], b["input"]) for b in replayed] == [
            ("call_echo_1", "tools__echo", {"text": "ping"})
        ]
    assert len(first["messages"]) < len(second["messages"])


async def test_parallel_tools_results_in_call_order(wired: Wired, wire: str) -> None:
    wired.model.enqueue(
        Reply(
            tool_calls=[
                ToolUse("tools__slow", '{"seconds": 0.4}', id="call_slow"),
                ToolUse("tools__echo", '{"text": "fast"}', id="call_fast"),
            ]
        ),
        Reply(text="both"),
    )
    chat = await wired.chat()
    await wired.send(chat.id, "go")
    assert (await wired.settle(chat.id)).status == "waiting"
    _, second = wired.bodies()
    # Call order, though echo finished first.
    assert tool_results_seen(wire, second) == [("call_slow", "slept 0.4", False), ("call_fast", "fast", False)]
    _, _, result, _ = await wired.owner.chat_messages(chat.id)
    slow, fast = parts(result, "tool-result")
    assert fast["duration_ms"] < slow["duration_ms"]  # concurrent: echo did not wait for slow


@pytest.mark.parametrize(
    ("call", "expect"),
    [(("tools__fail", '{"message": "nope"}'), "nope"), (("tools__missing", "{}"), "Unknown tool")],
    ids=["tool-error", "unknown-tool"],
)
async def test_failing_tools_reach_the_model_as_errors(
    wired: Wired, wire: str, call: tuple[str, str], expect: str
) -> None:
    wired.model.enqueue(Reply(tool_calls=[ToolUse(call[0], call[1], id="call_bad")]), Reply(text="noted"))
    chat = await wired.chat()
    await wired.send(chat.id, "try")
    assert (await wired.settle(chat.id)).status == "waiting"
    messages = await wired.owner.chat_messages(chat.id)
    (stored,) = parts(messages[2], "tool-result")
    assert stored["is_error"] is True
    assert said(messages[3]) == "noted"
    _, second = wired.bodies()
    ((call_id, text, is_error),) = tool_results_seen(wire, second)
    assert call_id == "call_bad"
    assert expect in text
    if wire == "anthropic":
        assert is_error  # Anthropic's wire carries the flag; Chat Completions has none


async def test_rate_limit_then_success_has_a_retry_event_on_the_stream(
    wired: Wired,
    wire: str,
    http_url: str,  # noqa: F811 - the imported fixture
) -> None:
    wired.model.enqueue(HttpError(429, message="slow down", headers={"retry-after": "2"}), Reply(text="ok now"))
    chat = await wired.chat()
    (token,) = wired.owner.headers().values()
    reader = asyncio.create_task(collect(http_url, token, chat.id))
    await asyncio.sleep(0.2)
    await wired.send(chat.id, "hi")
    events = await asyncio.wait_for(reader, timeout=20)
    retries = [e.data["retry"] for e in events if e.event == "retry"]
    assert [(r["attempt"], r["delay_ms"], r["status_code"], r["kind"]) for r in retries] == [
        (1, 2000, 429, "rate_limit")
    ]
    assert wired.delays == [2.0]  # the provider's retry-after, honoured
    assert events[-1].data["status"]["status"] == "waiting"
    assert said((await wired.owner.chat_messages(chat.id))[-1]) == "ok now"
    assert len(wired.model.requests) == 2


async def test_unauthorized_ends_in_error(wired: Wired) -> None:
    wired.model.enqueue(HttpError(401, message="invalid x-api-key"))
    chat = await wired.chat()
    await wired.send(chat.id, "hi")
    done = await wired.settle(chat.id)
    assert done.status == "error"
    assert done.last_error is not None
    assert (done.last_error.kind, done.last_error.status_code, done.last_error.retryable) == ("auth", 401, False)
    assert "any-key-at-all" not in done.last_error.model_dump_json()  # never the secret
    assert len(wired.model.requests) == 1
    assert wired.kinds("retry") == []


async def test_disconnect_mid_stream_is_retried(wired: Wired) -> None:
    wired.model.enqueue(Reply(text="half of an answer", text_parts=4, disconnect_after=3), Reply(text="whole answer"))
    chat = await wired.chat()
    await wired.send(chat.id, "hi")
    done = await wired.settle(chat.id)
    assert (done.status, done.last_error) == ("waiting", None)
    messages = await wired.owner.chat_messages(chat.id)
    assert [(m.role, said(m)) for m in messages] == [("user", "hi"), ("assistant", "whole answer")]
    assert [e["retry"]["kind"] for e in wired.kinds("retry")] == ["connection"]
    assert len(wired.model.requests) == 2


async def test_interrupt_during_the_stream_keeps_the_partial_answer(wired: Wired) -> None:
    full = "one two three four five six"
    wired.model.enqueue(Reply(text=full, text_parts=6, stall_after=(4, 30.0)))
    chat = await wired.chat()
    await wired.send(chat.id, "hi")
    for _ in range(1000):
        if wired.kinds("message_part"):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # the parts before the stall have arrived
    streamed = "".join(e["message_part"]["part"]["text"] for e in wired.kinds("message_part"))
    assert streamed
    assert full.startswith(streamed)
    await wired.owner.interrupt_chat(chat.id)
    done = await wired.settle(chat.id, within=5.0)
    assert done.status == "waiting"
    _, answer = await wired.owner.chat_messages(chat.id)
    assert said(answer) == streamed
    # The SDK's HTTP stream was closed, not left hanging on the provider.
    assert await asyncio.to_thread(wired.model.wait_client_closed, 5.0)


def set_silence(wired: Wired, seconds: float) -> None:
    runner = wired.worker.runner
    runner.settings = type(runner.settings)(**{**runner.settings.__dict__, "silence_seconds": seconds})


@pytest.mark.parametrize(
    ("first", "kind"),
    [
        (Reply(text="never finished", text_parts=3, stall_after=(2, 30.0)), "stream_silence_timeout"),
        (Reply(text="cut short", text_parts=3, error_after=(2, StreamError())), "overloaded"),
        (Reply(text="no ending", text_parts=3, truncate=True), "connection"),
    ],
    ids=["silent-stream", "in-stream-error", "truncated-stream"],
)
async def test_broken_streams_are_retried(wired: Wired, first: Reply, kind: str) -> None:
    set_silence(wired, 0.5)
    wired.model.enqueue(first, Reply(text="second try"))
    chat = await wired.chat()
    await wired.send(chat.id, "hi")
    done = await wired.settle(chat.id)
    assert (done.status, done.last_error) == ("waiting", None)
    assert said((await wired.owner.chat_messages(chat.id))[-1]) == "second try"  # the partial was dropped
    assert [e["retry"]["kind"] for e in wired.kinds("retry")] == [kind]
    assert len(wired.model.requests) == 2


async def test_overloaded_five_times_ends_in_error(wired: Wired) -> None:
    wired.model.enqueue(*[HttpError(529 if wired.model.wire == "anthropic" else 503) for _ in range(6)])
    chat = await wired.chat()
    await wired.send(chat.id, "hi")
    done = await wired.settle(chat.id)
    assert done.status == "error"
    assert done.last_error is not None
    assert done.last_error.retryable is True
    assert len(wired.model.requests) == 5
    assert [e["retry"]["attempt"] for e in wired.kinds("retry")] == [1, 2, 3, 4]
