"""The echo provider: plain answers, `/call` tool calls, and answers to tool results."""

from __future__ import annotations

from devplane.chat.provider import Finish, ModelMessage, ModelRequest, StreamEvent, TextDelta, ToolResult
from devplane.chat.providers.echo import EchoClient


async def _run(*messages: ModelMessage) -> list[StreamEvent]:
    return [event async for event in EchoClient().stream(ModelRequest(model="echo", messages=messages))]


def _text(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_echo_answers_with_the_users_text_in_parts() -> None:
    events = await _run(ModelMessage(role="user", text="hello there  world"))
    assert _text(events) == "hello there  world"
    assert sum(isinstance(e, TextDelta) for e in events) == 3
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert (finish.reason, finish.tool_calls) == ("stop", ())


async def test_call_asks_for_the_tool_with_its_arguments() -> None:
    events = await _run(ModelMessage(role="user", text='/call docs__search {"q": "mcp"}'))
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert finish.reason == "tool_calls"
    assert [(c.name, c.arguments) for c in finish.tool_calls] == [("docs__search", '{"q": "mcp"}')]


async def test_call_with_bad_json_answers_text_not_a_call() -> None:
    events = await _run(ModelMessage(role="user", text="/call docs__search {nope"))
    assert "needs JSON arguments" in _text(events)
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert finish.reason == "stop"


async def test_tool_results_are_described() -> None:
    results = (
        ToolResult(tool_call_id="1", name="a__echo", content=[{"type": "text", "text": "Echo: hi"}]),
        ToolResult(tool_call_id="2", name="a__img", content=[{"type": "image", "data": "AA=="}]),
        ToolResult(tool_call_id="3", name="a__bad", content=[{"type": "text", "text": "boom"}], is_error=True),
    )
    events = await _run(ModelMessage(role="tool", tool_results=results))
    assert _text(events) == "a__echo: Echo: hi\na__img: [image]\na__bad failed: boom"
