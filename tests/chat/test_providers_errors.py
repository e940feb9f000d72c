"""Failure classification of both adapters: HTTP errors, in-stream errors, timeouts, drops, cancellation."""

from __future__ import annotations

import asyncio
import socket
import time
from email.utils import formatdate

import pytest

from devplane.chat.provider import ErrorKind, ProviderError, StreamEvent
from devplane.chat.providers.anthropic_messages import AnthropicMessagesClient
from devplane.chat.providers.errors import parse_retry_after
from devplane.chat.providers.openai_chat import OpenAIChatClient
from tests.chat.provider_helpers import API_KEY, WIRES, client_for, endpoint, request, run, run_error, serve, text
from tests.fixtures.model_server import FakeModelServer, HttpError, Reply, StreamError

server = pytest.fixture(scope="module")(serve)
both_wires = pytest.mark.parametrize("wire", WIRES)


@pytest.fixture
def fake(server: FakeModelServer) -> FakeModelServer:
    server.reset()
    return server


# (status, error type or None for the wire's usual one, code, message) → (kind, retryable)
HTTP_CASES: list[tuple[int, str | None, str | None, str, ErrorKind, bool]] = [
    (429, None, "rate_limit_exceeded", "Rate limit reached", "rate_limit", True),
    (529, "overloaded_error", None, "Overloaded", "overloaded", True),
    (500, None, None, "The server had an error", "generic", True),
    (502, None, None, "Bad gateway", "generic", True),
    (503, None, None, "Service unavailable", "generic", True),
    (408, None, None, "Request timeout", "timeout", True),
    (400, None, None, "messages.0.content: field required", "bad_request", False),
    (
        400,
        None,
        "context_length_exceeded",
        "This model's maximum context length is 8192 tokens",
        "context_length",
        False,
    ),
    (400, "invalid_request_error", None, "prompt is too long: 210000 tokens > 200000 maximum", "context_length", False),
    (401, None, "invalid_api_key", "Invalid authentication", "auth", False),
    (403, "permission_error", None, "Your key may not use this model", "auth", False),
    (404, "not_found_error", "model_not_found", "model: gpt-nope", "not_found", False),
    (429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota", "usage_limit", False),
    (402, "billing_error", None, "Payment required", "usage_limit", False),
    (400, "invalid_request_error", None, "Your credit balance is too low", "usage_limit", False),
    (422, None, None, "Unprocessable", "bad_request", False),
    (400, None, "content_policy_violation", "Your request was rejected by the safety system", "content_filter", False),
]


@both_wires
@pytest.mark.parametrize(("status", "error_type", "code", "message", "kind", "retryable"), HTTP_CASES)
async def test_http_errors_are_classified(
    fake: FakeModelServer,
    wire: str,
    status: int,
    error_type: str | None,
    code: str | None,
    message: str,
    kind: ErrorKind,
    retryable: bool,
) -> None:
    endpoint(fake, wire).enqueue(HttpError(status, message=message, error_type=error_type, code=code))
    error = await run_error(client_for(fake, wire))
    assert (error.kind, error.retryable, error.status_code, error.provider) == (kind, retryable, status, wire)
    assert message in error.message
    assert len(endpoint(fake, wire).requests) == 1, "adapters never retry on their own (max_retries=0)"


@both_wires
@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry-after": "7"}, 7.0), ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5), ({}, None)],
)
async def test_rate_limit_surfaces_retry_after(
    fake: FakeModelServer, wire: str, headers: dict[str, str], expected: float | None
) -> None:
    endpoint(fake, wire).enqueue(HttpError(429, message="slow down", headers=headers))
    error = await run_error(client_for(fake, wire))
    assert (error.kind, error.retryable, error.retry_after) == ("rate_limit", True, expected)


def test_retry_after_as_an_http_date() -> None:
    later = parse_retry_after({"retry-after": formatdate(time.time() + 30, usegmt=True)})
    assert later is not None
    assert 25 <= later <= 31
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "-3"}) is None


@both_wires
async def test_the_api_key_never_appears_in_the_error(fake: FakeModelServer, wire: str) -> None:
    endpoint(fake, wire).enqueue(HttpError(401, message=f"Incorrect API key provided: {API_KEY}."))
    error = await run_error(client_for(fake, wire))
    assert error.kind == "auth"
    assert API_KEY not in error.message
    assert API_KEY not in str(error)
    assert "Incorrect API key provided: ***" in error.message


@both_wires
async def test_an_error_event_inside_the_stream(fake: FakeModelServer, wire: str) -> None:
    endpoint(fake, wire).enqueue(
        Reply(text="partial answer", text_parts=4, error_after=(4, StreamError("overloaded_error", "Overloaded")))
    )
    error = await run_error(client_for(fake, wire))
    assert (error.kind, error.retryable, error.status_code) == ("overloaded", True, None)


@both_wires
async def test_a_rate_limit_error_event_inside_the_stream(fake: FakeModelServer, wire: str) -> None:
    endpoint(fake, wire).enqueue(Reply(text="x", error_after=(2, StreamError("rate_limit_error", "Too many"))))
    error = await run_error(client_for(fake, wire))
    assert (error.kind, error.retryable) == ("rate_limit", True)


@both_wires
async def test_a_malformed_event_is_a_provider_error(fake: FakeModelServer, wire: str) -> None:
    garbage = b"event: content_block_delta\ndata: {not json\n\n" if wire == "anthropic" else b"data: {not json\n\n"
    endpoint(fake, wire).enqueue(Reply(text="hello", raw_after=(3, garbage)))
    error = await run_error(client_for(fake, wire))
    assert (error.kind, error.retryable) == ("generic", False)
    assert "malformed" in error.message


@both_wires
async def test_disconnect_mid_stream_is_a_retryable_connection_error(fake: FakeModelServer, wire: str) -> None:
    endpoint(fake, wire).enqueue(Reply(text="this answer is cut", text_parts=6, disconnect_after=4))
    seen: list[StreamEvent] = []
    client = client_for(fake, wire)

    async def consume() -> None:
        async for event in client.stream(request()):
            seen.append(event)

    try:
        with pytest.raises(ProviderError) as info:
            await consume()
    finally:
        await client.aclose()
    assert (info.value.kind, info.value.retryable) == ("connection", True)
    assert seen, "the events before the drop were delivered"


@both_wires
async def test_a_silent_server_times_out_retryably(fake: FakeModelServer, wire: str) -> None:
    endpoint(fake, wire).enqueue(Reply(text="late", delay=5.0))
    error = await run_error(client_for(fake, wire, timeout=0.5))
    assert (error.kind, error.retryable) == ("timeout", True)


@both_wires
async def test_connection_refused_is_a_retryable_connection_error(fake: FakeModelServer, wire: str) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    client = (
        OpenAIChatClient(provider="openai", api_key=API_KEY, base_url=f"{url}/v1")
        if wire == "openai"
        else AnthropicMessagesClient(api_key=API_KEY, base_url=url)
    )
    error = await run_error(client)
    assert (error.kind, error.retryable, error.status_code) == ("connection", True, None)


@both_wires
async def test_cancelling_the_consumer_closes_the_stream_promptly(fake: FakeModelServer, wire: str) -> None:
    ep = endpoint(fake, wire)
    ep.enqueue(Reply(text="a long answer that will never finish", text_parts=8, stall_after=(5, 30.0)))
    client = client_for(fake, wire)
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in client.stream(request()):
            first.set()

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(first.wait(), timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The fake sees the connection go away long before its next chunk (30 s) would be due.
        closed = await asyncio.to_thread(ep.wait_client_closed, 5.0)
        assert closed, "the fake never saw the client close the stream"
        assert ep.client_closed_count == 1
        assert ep.completed_count == 0
    finally:
        task.cancel()
        await client.aclose()


@both_wires
async def test_an_unscripted_request_fails_loudly(fake: FakeModelServer, wire: str) -> None:
    error = await run_error(client_for(fake, wire))
    assert "no scripted answer" in error.message


@both_wires
async def test_a_responder_answers_from_the_request_when_the_queue_is_empty(fake: FakeModelServer, wire: str) -> None:
    ep = endpoint(fake, wire)
    ep.responder = lambda received: Reply(text=f"you sent {len(received.body['messages'])} message(s)")
    ep.enqueue(Reply(text="scripted first"))
    first = await run(client_for(fake, wire))
    second = await run(client_for(fake, wire))
    assert (text(first), text(second)) == ("scripted first", "you sent 1 message(s)")
