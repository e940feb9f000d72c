"""Both SDK adapters against the fake model server: text, reasoning, tool calls, usage, finish reasons.

Every case runs on both wires (OpenAI Chat Completions and Anthropic Messages) through the
official SDKs, so the SDKs' own parsers read what the fake writes.
"""

from __future__ import annotations

import time

import pytest

from devplane.chat.provider import TextDelta, ToolCallDelta, Usage
from tests.chat.provider_helpers import (
    WIRES,
    client_for,
    endpoint,
    finish,
    reasoning,
    request,
    run,
    run_error,
    serve,
    text,
)
from tests.fixtures.model_server import FakeModelServer, FakeUsage, Reply, ToolUse

server = pytest.fixture(scope="module")(serve)
both_wires = pytest.mark.parametrize("wire", WIRES)


@pytest.fixture
def fake(server: FakeModelServer) -> FakeModelServer:
    server.reset()
    return server


@both_wires
async def test_text_streams_in_parts(fake: FakeModelServer, wire: str) -> None:
    endpoint(fake, wire).enqueue(Reply(text="The quick brown fox jumps", text_parts=5))
    events = await run(client_for(fake, wire))
    assert text(events) == "The quick brown fox jumps"
    assert len([e for e in events if type(e).__name__ == "TextDelta"]) == 5
    done = finish(events)
    assert (done.reason, done.tool_calls) == ("stop", ())
    assert (done.usage.input_tokens, done.usage.output_tokens) == (11, 7)


@both_wires
async def test_reasoning_streams_before_the_answer(fake: FakeModelServer, wire: str) -> None:
    endpoint(fake, wire).enqueue(Reply(reasoning="First, think. Then answer.", text="42"))
    events = await run(client_for(fake, wire))
    assert reasoning(events) == "First, think. Then answer."
    assert text(events) == "42"
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("ReasoningDelta") < kinds.index("TextDelta")


@both_wires
async def test_one_tool_call_with_arguments_in_many_fragments(fake: FakeModelServer, wire: str) -> None:
    arguments = '{"query": "governed tools", "limit": 10, "tags": ["a", "b"]}'
    endpoint(fake, wire).enqueue(Reply(tool_calls=[ToolUse("docs__search", arguments, id="call_1", parts=9)]))
    events = await run(client_for(fake, wire))
    fragments = [e for e in events if isinstance(e, ToolCallDelta)]
    assert "".join(f.arguments_delta for f in fragments) == arguments
    assert len([f for f in fragments if f.arguments_delta]) == 9
    assert (fragments[0].id, fragments[0].name) == ("call_1", "docs__search")
    assert all(f.index == 0 for f in fragments)
    done = finish(events)
    assert done.reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in done.tool_calls] == [("call_1", "docs__search", arguments)]


@both_wires
async def test_parallel_tool_calls_keep_their_order(fake: FakeModelServer, wire: str) -> None:
    calls = [ToolUse(f"srv__tool{i}", f'{{"n": {i}, "pad": "{"x" * i}"}}', id=f"call_{i}", parts=4) for i in range(3)]
    endpoint(fake, wire).enqueue(Reply(text="Calling three tools.", tool_calls=calls))
    events = await run(client_for(fake, wire))
    done = finish(events)
    assert done.reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in done.tool_calls] == [(c.id, c.name, c.arguments) for c in calls]
    firsts = [e for e in events if isinstance(e, ToolCallDelta) and e.name is not None]
    assert [(e.index, e.id) for e in firsts] == [(0, "call_0"), (1, "call_1"), (2, "call_2")]
    assert text(events) == "Calling three tools."


@both_wires
async def test_a_call_without_arguments_gets_an_empty_object(fake: FakeModelServer, wire: str) -> None:
    endpoint(fake, wire).enqueue(Reply(tool_calls=[ToolUse("srv__ping", "", id="call_p")]))
    done = finish(await run(client_for(fake, wire)))
    assert [(c.name, c.arguments) for c in done.tool_calls] == [("srv__ping", "{}")]


@both_wires
async def test_usage_with_every_count(fake: FakeModelServer, wire: str) -> None:
    usage = FakeUsage(input=120, output=30, reasoning=12, cache_read=100, cache_creation=20)
    endpoint(fake, wire).enqueue(Reply(text="ok", usage=usage))
    done = finish(await run(client_for(fake, wire)))
    # Chat Completions has no cache-creation count: it must stay None, not 0.
    expected_creation = None if wire == "openai" else 20
    assert done.usage == Usage(
        input_tokens=120,
        output_tokens=30,
        reasoning_tokens=12,
        cache_creation_tokens=expected_creation,
        cache_read_tokens=100,
    )


@both_wires
async def test_usage_without_counts_is_none_never_zero(fake: FakeModelServer, wire: str) -> None:
    endpoint(fake, wire).enqueue(Reply(text="ok", usage=None))
    done = finish(await run(client_for(fake, wire)))
    assert done.usage == Usage()


@both_wires
async def test_partial_usage_keeps_the_missing_counts_none(fake: FakeModelServer, wire: str) -> None:
    endpoint(fake, wire).enqueue(Reply(text="ok", usage=FakeUsage(input=5, output=2)))
    done = finish(await run(client_for(fake, wire)))
    assert done.usage == Usage(input_tokens=5, output_tokens=2)


@pytest.mark.parametrize(
    ("openai_reason", "anthropic_reason", "expected"),
    [
        ("length", "max_tokens", "length"),
        ("content_filter", "refusal", "content_filter"),
        ("stop", "stop_sequence", "stop"),
        ("something_new", "pause_turn", "other"),
    ],
)
@both_wires
async def test_finish_reasons_map(
    fake: FakeModelServer, wire: str, openai_reason: str, anthropic_reason: str, expected: str
) -> None:
    reason = openai_reason if wire == "openai" else anthropic_reason
    endpoint(fake, wire).enqueue(Reply(text="partial", finish=reason))
    assert finish(await run(client_for(fake, wire))).reason == expected


@both_wires
async def test_a_stream_that_ends_without_its_final_event_is_a_retryable_error(
    fake: FakeModelServer, wire: str
) -> None:
    endpoint(fake, wire).enqueue(Reply(text="cut short", truncate=True))
    error = await run_error(client_for(fake, wire))
    assert (error.kind, error.retryable, error.provider) == ("connection", True, wire)


async def test_tool_calls_with_finish_reason_stop_still_ask_for_tools(fake: FakeModelServer) -> None:
    # Ollama answers tool calls with finish_reason "stop"; the loop must still run the tools.
    wire = "openai"
    endpoint(fake, wire).enqueue(Reply(tool_calls=[ToolUse("srv__t", '{"a": 1}')], finish="stop"))
    done = finish(await run(client_for(fake, wire)))
    assert done.reason == "tool_calls"
    assert len(done.tool_calls) == 1


@pytest.mark.parametrize(("omit_index", "repeat_head"), [(True, False), (False, True), (True, True)])
async def test_openai_compatible_tool_call_quirks(fake: FakeModelServer, omit_index: bool, repeat_head: bool) -> None:
    calls = [
        ToolUse(f"srv__t{i}", f'{{"i": {i}}}', id=f"call_{i}", parts=3, omit_index=omit_index, repeat_head=repeat_head)
        for i in range(2)
    ]
    fake.openai.enqueue(Reply(tool_calls=calls))
    events = await run(client_for(fake, "openai"))
    done = finish(events)
    assert [(c.id, c.name, c.arguments) for c in done.tool_calls] == [
        ("call_0", "srv__t0", '{"i": 0}'),
        ("call_1", "srv__t1", '{"i": 1}'),
    ]
    heads = [(e.index, e.id, e.name) for e in events if isinstance(e, ToolCallDelta) and e.name is not None]
    assert heads == [(0, "call_0", "srv__t0"), (1, "call_1", "srv__t1")], "id and name only on a call's first fragment"


@pytest.mark.parametrize("field_name", ["reasoning_content", "reasoning"])
async def test_openai_compatible_reasoning_fields(fake: FakeModelServer, field_name: str) -> None:
    fake.openai.enqueue(Reply(reasoning="step by step", reasoning_field=field_name, text="done"))
    events = await run(client_for(fake, "openai"))
    assert (reasoning(events), text(events)) == ("step by step", "done")


async def test_anthropic_input_tokens_reported_in_message_delta(fake: FakeModelServer) -> None:
    wire = "anthropic"  # a quirk of some Anthropic-compatible gateways (rig PR #2236)
    endpoint(fake, wire).enqueue(Reply(text="ok", usage=FakeUsage(input=77, output=3, input_in_delta=True)))
    done = finish(await run(client_for(fake, wire)))
    assert (done.usage.input_tokens, done.usage.output_tokens) == (77, 3)


@both_wires
async def test_the_fake_logs_when_it_sent_each_event(fake: FakeModelServer, wire: str) -> None:
    endpoint(fake, wire).enqueue(Reply(text="alpha-beta", text_parts=2))
    client = client_for(fake, wire)
    received: list[float] = []
    try:
        async for event in client.stream(request()):
            if isinstance(event, TextDelta):
                received.append(time.perf_counter())
    finally:
        await client.aclose()
    sent = endpoint(fake, wire).sent_events()
    text_sent = [at for at, raw in sent if b"alpha" in raw or b"-beta" in raw]
    assert len(text_sent) == len(received) == 2
    # Same clock on both threads: each part was written before the client saw it.
    assert all(s <= r for s, r in zip(text_sent, received, strict=True))
    assert [at for at, _ in sent] == sorted(at for at, _ in sent)
