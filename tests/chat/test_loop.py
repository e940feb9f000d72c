"""The chat loop end to end on the app's worker: a scripted model, real MCP upstream, the real DB.

Each test posts a message through the API, lets the worker run the turn, and reads what was stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import pytest

from devplane.chat.history import INTERRUPTED
from devplane.chat.loop import STEP_CAP_NOTICE
from devplane.chat.provider import Usage
from devplane.chat.worker import ChatWorker
from devplane.sdk.chats import ChatMessage, CreateChatMessageRequest
from devplane.sdk.errors import DevplaneError
from tests.chat import scripted as s
from tests.chat.conftest import World
from tests.fixtures.mcp_servers import UpstreamMCPServer


def parts(message: ChatMessage, kind: str) -> list[dict[str, Any]]:
    return [p for p in message.content if p.get("type") == kind]


def said(message: ChatMessage) -> str:
    return "".join(p["text"] for p in parts(message, "text"))


async def send(world: World, chat_id: uuid.UUID, text: str) -> ChatMessage:
    return await world.owner.create_chat_message(chat_id, CreateChatMessageRequest(content=text))


def collect(world: World) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    world.worker.runner.publish = lambda _chat, event: events.append(event)
    return events


async def test_text_only_with_usage(world: World) -> None:
    world.script.entries = [s.text("hello world", Usage(input_tokens=3, output_tokens=2))]
    chat = await world.chat()
    posted = await send(world, chat.id, "hi")
    assert not posted.queued
    done = await world.settle(chat.id)
    assert done.status == "waiting"
    user, answer = await world.messages(chat.id)
    assert (user.role, said(user)) == ("user", "hi")
    assert (answer.role, said(answer).strip()) == ("assistant", "hello world")
    assert answer.usage is not None
    assert (answer.usage.input_tokens, answer.usage.output_tokens, answer.usage.reasoning_tokens) == (3, 2, None)
    assert done.usage is not None
    assert (done.usage.input_tokens, done.usage.cache_read_tokens) == (3, None)
    assert [m.seq for m in (user, answer)] == [1, 2]
    assert world.script.requests[0].messages[-1].text == "hi"


async def test_one_tool_through_the_runtime(world: World, upstream: UpstreamMCPServer) -> None:
    world.script.entries = [s.tools(("tools__echo", '{"text": "ping"}')), s.text("done")]
    chat = await world.chat()
    await send(world, chat.id, "call it")
    assert (await world.settle(chat.id)).status == "waiting"
    _, call, result, answer = await world.messages(chat.id)
    (call_part,) = parts(call, "tool-call")
    assert call_part["tool_name"] == "tools__echo"
    assert call_part["mcp_server_config_id"] == str(world.server_id)
    (result_part,) = parts(result, "tool-result")
    assert result.role == "tool"
    assert result_part["tool_call_id"] == call_part["tool_call_id"]
    assert result_part["is_error"] is False
    assert result_part["result"][0]["text"] == "ping"
    assert said(answer).strip() == "done"
    assert upstream.count_rpc("tools/call") == 1
    # The second model call saw the result; the tools offered were the governed catalog.
    second = world.script.requests[1]
    assert second.messages[-1].role == "tool"
    assert second.messages[-1].tool_results[0].content[0]["text"] == "ping"
    assert "tools__echo" in {t.name for t in world.script.requests[0].tools}
    # The tool-call log has the call, attributed to the chat.
    log = await world.owner.mcp_tool_calls(chat_id=chat.id)
    for _ in range(100):
        if log.count:
            break
        await asyncio.sleep(0.05)
        log = await world.owner.mcp_tool_calls(chat_id=chat.id)
    assert [c.tool for c in log.tool_calls] == ["echo"]


async def test_parallel_tools_results_in_call_order(world: World) -> None:
    world.script.entries = [
        s.tools(("tools__slow", '{"seconds": 0.4}'), ("tools__echo", '{"text": "fast"}')),
        s.text("both"),
    ]
    chat = await world.chat()
    await send(world, chat.id, "go")
    await world.settle(chat.id)
    _, call, result, _ = await world.messages(chat.id)
    names = [p["tool_name"] for p in parts(result, "tool-result")]
    assert names == ["tools__slow", "tools__echo"]  # call order, though echo finished first
    assert [p["tool_call_id"] for p in parts(result, "tool-result")] == [
        p["tool_call_id"] for p in parts(call, "tool-call")
    ]
    slow, fast = parts(result, "tool-result")
    assert slow["result"][0]["text"] == "slept 0.4"
    assert fast["duration_ms"] < slow["duration_ms"]  # they ran concurrently: echo did not wait for slow


@pytest.mark.parametrize(
    ("call", "expect"),
    [
        (("tools__fail", '{"message": "nope"}'), "nope"),
        (("tools__missing", "{}"), "Unknown tool"),
        (("tools__echo", "[1, 2]"), "must be a JSON object"),
    ],
    ids=["tool-error", "unknown-tool", "bad-arguments"],
)
async def test_failing_tools_become_error_results(
    world: World, upstream: UpstreamMCPServer, call: tuple[str, str], expect: str
) -> None:
    world.script.entries = [s.tools(call), s.text("noted")]
    chat = await world.chat()
    await send(world, chat.id, "try")
    assert (await world.settle(chat.id)).status == "waiting"
    messages = await world.messages(chat.id)
    (result,) = parts(messages[2], "tool-result")
    assert result["is_error"] is True
    assert expect in json.dumps(result["result"])
    assert said(messages[3]).strip() == "noted"  # the model saw the error and answered
    if call[1] == "[1, 2]":
        assert upstream.count_rpc("tools/call") == 0


async def test_step_cap_ends_with_a_notice(world: World) -> None:
    world.settings(max_steps=2)
    world.script.entries = [s.tools(("tools__echo", '{"text": "a"}')), s.tools(("tools__echo", '{"text": "b"}'))]
    chat = await world.chat()
    await send(world, chat.id, "loop")
    done = await world.settle(chat.id)
    assert done.status == "waiting"
    assert done.last_error is None
    messages = await world.messages(chat.id)
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert parts(messages[-1], "notice") == [{"type": "notice", "text": STEP_CAP_NOTICE}]
    assert len(world.script.requests) == 2


async def test_rate_limit_then_success_announces_the_retry(world: World) -> None:
    events = collect(world)
    world.script.entries = [s.fail("rate_limit", 429, retryable=True, retry_after=0.25), s.text("ok")]
    chat = await world.chat()
    await send(world, chat.id, "hi")
    assert (await world.settle(chat.id)).status == "waiting"
    retries = [e["retry"] for e in events if e["type"] == "retry"]
    assert [(r["attempt"], r["delay_ms"], r["status_code"], r["kind"]) for r in retries] == [
        (1, 250, 429, "rate_limit")
    ]
    assert said((await world.messages(chat.id))[-1]).strip() == "ok"


async def test_retries_stop_after_five_attempts(world: World) -> None:
    world.script.entries = [s.fail("overloaded", 529, retryable=True) for _ in range(6)]
    chat = await world.chat()
    await send(world, chat.id, "hi")
    done = await world.settle(chat.id)
    assert done.status == "error"
    assert done.last_error is not None
    assert (done.last_error.kind, done.last_error.retryable) == ("overloaded", True)
    assert len(world.script.requests) == 5


async def test_unauthorized_ends_in_error(world: World) -> None:
    world.script.entries = [s.fail("auth", 401, retryable=False)]
    chat = await world.chat()
    await send(world, chat.id, "hi")
    done = await world.settle(chat.id)
    assert done.status == "error"
    assert done.last_error is not None
    assert done.last_error.model_dump(exclude={"detail"}) == {
        "message": "scripted auth",
        "kind": "auth",
        "provider": "scripted",
        "retryable": False,
        "status_code": 401,
    }
    assert len(world.script.requests) == 1
    # A new message from error starts a new turn and clears the error.
    world.script.entries = [s.text("back")]
    await send(world, chat.id, "again")
    again = await world.settle(chat.id)
    assert (again.status, again.last_error) == ("waiting", None)


async def test_disconnect_mid_stream_is_retried_and_the_partial_dropped(world: World) -> None:
    events = collect(world)
    world.script.entries = [s.disconnect("half "), s.text("whole answer")]
    chat = await world.chat()
    await send(world, chat.id, "hi")
    await world.settle(chat.id)
    answer = (await world.messages(chat.id))[-1]
    assert said(answer).strip() == "whole answer"
    assert [e["retry"]["kind"] for e in events if e["type"] == "retry"] == ["connection"]


async def test_silent_stream_times_out_and_is_retried(world: World) -> None:
    world.settings(silence_seconds=0.2)
    world.script.entries = [s.stall(""), s.text("after silence")]
    chat = await world.chat()
    await send(world, chat.id, "hi")
    await world.settle(chat.id)
    assert said((await world.messages(chat.id))[-1]).strip() == "after silence"


async def test_interrupt_during_the_stream_keeps_the_partial_answer(world: World) -> None:
    world.script.entries = [s.stall("partial answer")]
    chat = await world.chat()
    await send(world, chat.id, "hi")
    await world.wait_status(chat.id, "running")
    await world.model_called()
    await asyncio.sleep(0.05)
    start = asyncio.get_running_loop().time()
    await world.owner.interrupt_chat(chat.id)
    done = await world.settle(chat.id, within=1.0)
    assert asyncio.get_running_loop().time() - start < 1.0
    assert done.status == "waiting"
    _, answer = await world.messages(chat.id)
    assert said(answer) == "partial answer"


async def test_interrupt_during_a_tool_answers_the_open_call(world: World, upstream: UpstreamMCPServer) -> None:
    world.script.entries = [s.tools(("tools__slow", '{"seconds": 30}'))]
    chat = await world.chat()
    await send(world, chat.id, "slow please")
    for _ in range(500):
        if upstream.count_rpc("tools/call"):
            break
        await asyncio.sleep(0.01)
    await world.owner.interrupt_chat(chat.id)
    assert (await world.settle(chat.id, within=1.0)).status == "waiting"
    _, call, result = await world.messages(chat.id)
    (open_call,) = parts(call, "tool-call")
    (answered,) = parts(result, "tool-result")
    assert answered["tool_call_id"] == open_call["tool_call_id"]
    assert answered["is_error"] is True
    assert answered["result"] == [{"type": "text", "text": INTERRUPTED}]


async def test_queued_message_is_promoted_after_the_turn(world: World) -> None:
    world.script.entries = [s.stall("first "), s.text("second answer")]
    chat = await world.chat()
    await send(world, chat.id, "one")
    await world.model_called()
    queued = await send(world, chat.id, "two")
    assert queued.queued
    assert [said(m) for m in await world.messages(chat.id)] == ["one"]
    await world.owner.interrupt_chat(chat.id)
    await world.settle(chat.id)
    messages = await world.messages(chat.id)
    assert [(m.role, said(m).strip()) for m in messages] == [
        ("user", "one"),
        ("assistant", "first"),
        ("user", "two"),
        ("assistant", "second answer"),
    ]
    assert [m.seq for m in messages] == [1, 2, 3, 4]


async def test_queue_is_capped_at_twenty(world: World) -> None:
    world.script.entries = [s.stall()]
    chat = await world.chat()
    await send(world, chat.id, "busy")
    await world.model_called()
    for i in range(20):
        assert (await send(world, chat.id, f"q{i}")).queued
    with pytest.raises(DevplaneError) as err:
        await send(world, chat.id, "one too many")
    assert err.value.status_code == 409
    assert "queue is full" in err.value.response.message
    world.script.entries = [s.text(f"a{i}") for i in range(21)]
    await world.owner.interrupt_chat(chat.id)
    await world.settle(chat.id, within=30)
    assert len([m for m in await world.messages(chat.id) if m.role == "user"]) == 21


async def test_a_dead_workers_chat_is_taken_over_after_the_lease(world: World) -> None:
    world.script.entries = [s.stall("lost "), s.text("taken over")]
    chat = await world.chat()
    await send(world, chat.id, "hi")
    await world.wait_status(chat.id, "running")
    await world.model_called()
    dead = world.worker
    await dead.kill()  # no state written, like a crashed process
    assert (await world.owner.chat(chat.id)).status == "running"

    # Within the lease another worker leaves it alone; after it (an injected clock), it takes over.
    now = dt.datetime.now(dt.UTC)
    clock = [now]
    heir = ChatWorker(world.state.db, dead.runner, lease_seconds=60, poll_seconds=0.05, clock=lambda: clock[0])
    assert not await heir.claim_once()
    clock[0] = now + dt.timedelta(seconds=61)
    heir.start()
    world.state.extras["chat_worker"] = heir
    try:
        done = await world.settle(chat.id)
        assert done.status == "waiting"
        messages = await world.messages(chat.id)
        assert [(m.role, said(m).strip()) for m in messages] == [("user", "hi"), ("assistant", "taken over")]
    finally:
        world.state.extras["chat_worker"] = dead
        await heir.stop()


async def test_shutdown_mid_turn_hands_the_chat_back(world: World) -> None:
    world.script.entries = [s.stall("cut "), s.text("after restart")]
    chat = await world.chat()
    await send(world, chat.id, "hi")
    await world.model_called()
    worker = world.worker
    await worker.stop()
    after = await world.owner.chat(chat.id)
    assert after.status == "pending"  # not stuck running, and the user message is kept
    assert [said(m) for m in await world.messages(chat.id)] == ["hi"]
    again = ChatWorker(world.state.db, worker.runner, poll_seconds=0.05)
    again.start()
    world.state.extras["chat_worker"] = again
    try:
        await world.settle(chat.id)
        assert said((await world.messages(chat.id))[-1]).strip() == "after restart"
    finally:
        world.state.extras["chat_worker"] = worker
        await again.stop()


async def test_system_prompt_is_sent(world: World) -> None:
    await world.owner.set_chat_system_prompt("Be brief.")
    world.script.entries = [s.text("ok")]
    chat = await world.chat()
    await send(world, chat.id, "hi")
    await world.settle(chat.id)
    assert world.script.requests[0].system == "Be brief."
