"""What each adapter sends, as the fake received it: history with tool results, tools, settings, key."""

from __future__ import annotations

from typing import Any

import pytest

from devplane.chat.provider import ModelMessage, ModelSettings, ToolCall, ToolResult, ToolSpec
from tests.chat.provider_helpers import API_KEY, client_for, request, run, serve
from tests.fixtures.model_server import FakeModelServer, Reply

server = pytest.fixture(scope="module")(serve)

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
TOOLS = (
    ToolSpec("docs__search", "Search the docs", {"type": "object", "properties": {"q": {"type": "string"}}}),
    ToolSpec("img__render", "Render a chart", {"type": "object"}),
)
HISTORY = (
    ModelMessage(role="user", text="find and draw"),
    ModelMessage(
        role="assistant",
        text="Looking.",
        reasoning="the user wants two things",
        tool_calls=(
            ToolCall(id="call_a", name="docs__search", arguments='{"q": "mcp"}'),
            ToolCall(id="call_b", name="img__render", arguments="{}"),
        ),
    ),
    ModelMessage(
        role="tool",
        tool_results=(
            ToolResult("call_a", "docs__search", [{"type": "text", "text": "3 hits"}]),
            ToolResult(
                "call_b",
                "img__render",
                [{"type": "text", "text": "chart:"}, {"type": "image", "data": PNG, "mimeType": "image/png"}],
                is_error=False,
            ),
        ),
    ),
    ModelMessage(role="assistant", text="Here it is."),
    ModelMessage(role="user", text="again, but fail"),
    ModelMessage(role="assistant", tool_calls=(ToolCall(id="call_c", name="docs__search", arguments='{"q": 1'),)),
    ModelMessage(
        role="tool", tool_results=(ToolResult("call_c", "docs__search", [{"type": "text", "text": "bad"}], True),)
    ),
)
SETTINGS = ModelSettings(
    max_output_tokens=2000, temperature=0.3, top_p=0.9, parallel_tool_calls=False, reasoning_effort="low"
)


@pytest.fixture
def fake(server: FakeModelServer) -> FakeModelServer:
    server.reset()
    return server


async def _sent(fake: FakeModelServer, wire: str, **kwargs: Any) -> tuple[dict[str, Any], dict[str, str]]:
    (fake.openai if wire == "openai" else fake.anthropic).enqueue(Reply(text="ok"))
    await run(client_for(fake, wire), request(*kwargs.pop("messages", HISTORY), **kwargs))
    (received,) = (fake.openai if wire == "openai" else fake.anthropic).requests
    return received.body, dict(received.headers)


async def test_openai_history_tools_and_settings(fake: FakeModelServer) -> None:
    body, headers = await _sent(fake, "openai", tools=TOOLS, settings=SETTINGS, system="Be brief.")
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert body["model"] == "test-model"
    assert (body["stream"], body["stream_options"]) == (True, {"include_usage": True})
    assert (body["temperature"], body["top_p"], body["max_completion_tokens"]) == (0.3, 0.9, 2000)
    assert (body["reasoning_effort"], body["parallel_tool_calls"]) == ("low", False)
    assert "max_tokens" not in body
    assert body["tools"][0] == {
        "type": "function",
        "function": {"name": "docs__search", "description": "Search the docs", "parameters": TOOLS[0].input_schema},
    }
    messages = body["messages"]
    assert [m["role"] for m in messages] == [
        "system", "user", "assistant", "tool", "tool", "user", "assistant", "user", "assistant", "tool",
    ]  # fmt: skip
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[2]["content"] == "Looking."
    assert "reasoning" not in messages[2]
    assert "reasoning_content" not in messages[2]
    assert [c["id"] for c in messages[2]["tool_calls"]] == ["call_a", "call_b"]
    assert messages[2]["tool_calls"][0]["function"] == {"name": "docs__search", "arguments": '{"q": "mcp"}'}
    assert messages[3] == {"role": "tool", "tool_call_id": "call_a", "content": "3 hits"}
    assert messages[4] == {"role": "tool", "tool_call_id": "call_b", "content": "chart:"}
    # The image follows all of the step's tool messages, as a user message with a data URI.
    image_parts = [p for p in messages[5]["content"] if p["type"] == "image_url"]
    assert image_parts == [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]
    assert messages[8]["content"] is None
    assert messages[8]["tool_calls"][0]["function"]["arguments"] == '{"q": 1'
    assert messages[9] == {"role": "tool", "tool_call_id": "call_c", "content": "Error: bad"}


async def test_openai_sends_no_optional_setting_it_was_not_given(fake: FakeModelServer) -> None:
    body, _ = await _sent(fake, "openai", messages=(ModelMessage(role="user", text="hi"),))
    for key in ("tools", "parallel_tool_calls", "temperature", "top_p", "max_completion_tokens", "reasoning_effort"):
        assert key not in body
    assert body["messages"] == [{"role": "user", "content": "hi"}]


async def test_anthropic_history_tools_and_settings(fake: FakeModelServer) -> None:
    settings = ModelSettings(max_output_tokens=2000, temperature=0.3, parallel_tool_calls=False)
    body, headers = await _sent(fake, "anthropic", tools=TOOLS, settings=settings, system="Be brief.")
    # anthropic 2.x sends the API key as a bearer token (1.x used x-api-key).
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["anthropic-version"]
    assert (body["model"], body["stream"], body["system"], body["max_tokens"]) == (
        "test-model",
        True,
        "Be brief.",
        2000,
    )
    assert body["temperature"] == 0.3
    assert "thinking" not in body
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert body["tools"][1] == {
        "name": "img__render",
        "description": "Render a chart",
        "input_schema": {"type": "object"},
    }
    messages = body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user", "assistant", "user"]
    assert messages[1]["content"] == [
        {"type": "text", "text": "Looking."},
        {"type": "tool_use", "id": "call_a", "name": "docs__search", "input": {"q": "mcp"}},
        {"type": "tool_use", "id": "call_b", "name": "img__render", "input": {}},
    ]
    # Both results of the step in ONE user message, in call order; the image as an image block.
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_a", "content": [{"type": "text", "text": "3 hits"}]},
        {
            "type": "tool_result",
            "tool_use_id": "call_b",
            "content": [
                {"type": "text", "text": "chart:"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            ],
        },
    ]
    # Malformed arguments (answered with an error by the loop) still make a valid tool_use block.
    assert messages[5]["content"] == [{"type": "tool_use", "id": "call_c", "name": "docs__search", "input": {}}]
    assert messages[6]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_c", "content": [{"type": "text", "text": "bad"}], "is_error": True}
    ]


async def test_anthropic_defaults_max_tokens_and_sends_no_unset_setting(fake: FakeModelServer) -> None:
    body, _ = await _sent(fake, "anthropic", messages=(ModelMessage(role="user", text="hi"),))
    assert body["max_tokens"] == 4096
    for key in ("tools", "tool_choice", "temperature", "top_p", "thinking", "system"):
        assert key not in body


@pytest.mark.parametrize(
    ("effort", "max_output", "max_tokens", "budget"),
    [("low", None, 1024 + 4096, 1024), ("high", None, 16384 + 4096, 16384), ("medium", 3000, 3000, 2999)],
)
async def test_anthropic_thinking_budget_from_reasoning_effort(
    fake: FakeModelServer, effort: Any, max_output: int | None, max_tokens: int, budget: int
) -> None:
    settings = ModelSettings(reasoning_effort=effort, max_output_tokens=max_output, temperature=0.5)
    body, _ = await _sent(fake, "anthropic", messages=(ModelMessage(role="user", text="think"),), settings=settings)
    assert body["max_tokens"] == max_tokens
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert "temperature" not in body, "the API refuses temperature together with thinking"


async def test_anthropic_continuation_after_tool_results_does_not_ask_for_thinking(fake: FakeModelServer) -> None:
    # Continuing would need the previous thinking blocks' signatures, which the interface does not carry.
    body, _ = await _sent(fake, "anthropic", settings=SETTINGS)
    assert "thinking" not in body
    assert body["max_tokens"] == 2000
