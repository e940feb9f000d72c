"""A scripted in-process ModelClient for loop tests: each model call plays the next script entry.

The wire-level versions of these cases (a fake OpenAI / Anthropic server on loopback, driven through
the real SDKs) come with the provider adapters; this double exercises the loop's own logic.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from devplane.chat.provider import (
    Finish,
    ModelClient,
    ModelRequest,
    ProviderError,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from devplane.db.chat_rows import ChatProviderRow

Entry = Callable[[ModelRequest], AsyncIterator[StreamEvent]]


def text(answer: str, usage: Usage | None = None) -> Entry:
    async def play(_: ModelRequest) -> AsyncIterator[StreamEvent]:
        for word in answer.split(" "):
            yield TextDelta(word + " ")
        yield Finish(reason="stop", usage=usage or Usage())

    return play


def tools(*calls: tuple[str, str], usage: Usage | None = None) -> Entry:
    """Ask for these (name, json arguments) tool calls, in this order."""

    async def play(_: ModelRequest) -> AsyncIterator[StreamEvent]:
        done = []
        for i, (name, args) in enumerate(calls):
            call = ToolCall(id=f"call_{id(play)}_{i}", name=name, arguments=args)
            yield ToolCallDelta(index=i, id=call.id, name=name, arguments_delta=args)
            done.append(call)
        yield Finish(reason="tool_calls", usage=usage or Usage(), tool_calls=tuple(done))

    return play


def fail(kind: str, status: int | None, *, retryable: bool, retry_after: float | None = None) -> Entry:
    error = ProviderError(
        f"scripted {kind}", kind=kind, provider="scripted", retryable=retryable, status_code=status,  # type: ignore[arg-type]  # test kinds are the real ones
        retry_after=retry_after,
    )  # fmt: skip

    async def play(_: ModelRequest) -> AsyncIterator[StreamEvent]:
        nothing: tuple[StreamEvent, ...] = ()
        for event in nothing:  # an async generator that raises before its first event
            yield event
        raise error

    return play


def stall(first: str = "partial ") -> Entry:
    """Send some text, then nothing (until cancelled)."""

    async def play(_: ModelRequest) -> AsyncIterator[StreamEvent]:
        yield TextDelta(first)
        await asyncio.sleep(3600)
        yield Finish(reason="stop", usage=Usage())  # pragma: no cover

    return play


def disconnect(first: str = "half ") -> Entry:
    async def play(_: ModelRequest) -> AsyncIterator[StreamEvent]:
        yield TextDelta(first)
        raise ProviderError("connection reset", kind="connection", provider="scripted", retryable=True)

    return play


@dataclass
class Script:
    entries: list[Entry] = field(default_factory=list)
    requests: list[ModelRequest] = field(default_factory=list)

    def factory(self) -> Callable[[ChatProviderRow], ModelClient]:
        return lambda _provider: ScriptedClient(self)


class ScriptedClient:
    provider = "scripted"

    def __init__(self, script: Script) -> None:
        self.script = script

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        self.script.requests.append(request)
        if not self.script.entries:
            async for event in text("(script exhausted)")(request):
                yield event
            return
        entry = self.script.entries.pop(0)
        async for event in entry(request):
            yield event

    async def aclose(self) -> None:
        return None
