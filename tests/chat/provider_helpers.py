"""Shared pieces of the adapter tests: a client of each wire pointed at the fake, and stream runners."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from devplane.chat.provider import (
    Finish,
    ModelClient,
    ModelMessage,
    ModelRequest,
    ModelSettings,
    ProviderError,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolSpec,
)
from devplane.chat.providers.anthropic_messages import AnthropicMessagesClient
from devplane.chat.providers.openai_chat import OpenAIChatClient
from tests.fixtures.model_server import FakeEndpoint, FakeModelServer, fake_model_server

WIRES = ("openai", "anthropic")
API_KEY = "sk-test-key-0123456789abcdef"


def serve() -> Iterator[FakeModelServer]:
    """Body of the module-scoped `server` fixture: one fake per test module (uvicorn start-up is slow)."""
    with fake_model_server() as server:
        yield server


def endpoint(fake: FakeModelServer, wire: str) -> FakeEndpoint:
    return fake.openai if wire == "openai" else fake.anthropic


def client_for(fake: FakeModelServer, wire: str, *, timeout: float = 30.0, api_key: str = API_KEY) -> ModelClient:
    if wire == "openai":
        return OpenAIChatClient(provider="openai", api_key=api_key, base_url=fake.openai.base_url, timeout=timeout)
    return AnthropicMessagesClient(api_key=api_key, base_url=fake.anthropic.base_url, timeout=timeout)


def request(
    *messages: ModelMessage,
    tools: Sequence[ToolSpec] = (),
    settings: ModelSettings | None = None,
    system: str | None = None,
) -> ModelRequest:
    return ModelRequest(
        model="test-model",
        messages=messages or (ModelMessage(role="user", text="hi"),),
        tools=tools,
        settings=settings or ModelSettings(),
        system=system,
    )


async def run(client: ModelClient, req: ModelRequest | None = None) -> list[StreamEvent]:
    try:
        return [event async for event in client.stream(req or request())]
    finally:
        await client.aclose()


async def run_error(client: ModelClient, req: ModelRequest | None = None) -> ProviderError:
    try:
        async for _ in client.stream(req or request()):
            pass
    except ProviderError as exc:
        return exc
    finally:
        await client.aclose()
    raise AssertionError("the stream ended without a ProviderError")


def text(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def reasoning(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, ReasoningDelta))


def finish(events: list[StreamEvent]) -> Finish:
    assert sum(isinstance(e, Finish) for e in events) == 1
    last = events[-1]
    assert isinstance(last, Finish), "Finish must be the last event"
    return last
