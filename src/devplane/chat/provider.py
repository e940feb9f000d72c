"""The one interface between the chat loop and a model provider's wire format.

The loop (devplane.chat.loop) owns everything that must be the same for every provider:
persistence of each step, retries and their `retry` events, the silence timeout, tool calls
through the MCP runtime, result truncation. An adapter (devplane.chat.providers.*) only turns a
`ModelRequest` into the provider's request and the provider's stream into `StreamEvent`s, and
classifies the provider's failures as `ProviderError`s. Adapters never retry on their own (the
SDKs are built with max_retries=0), so every attempt is visible to the loop and to the user.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["user", "assistant", "tool"]
FinishReason = Literal["stop", "tool_calls", "length", "content_filter", "other"]
# Matches the seed's ChatError kinds that devplane can produce.
ErrorKind = Literal[
    "generic",
    "overloaded",
    "rate_limit",
    "timeout",
    "stream_silence_timeout",
    "connection",
    "auth",
    "config",
    "not_found",
    "bad_request",
    "context_length",
    "usage_limit",
    "content_filter",
    "missing_key",
    "provider_disabled",
]


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model: the governed catalog's name (`<slug>__<tool>`) and schema."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call the model asked for. `arguments` is the raw JSON text it produced."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolResult:
    """The answer to one tool call, as MCP content blocks (text, image, resource...)."""

    tool_call_id: str
    name: str
    content: list[dict[str, Any]]
    is_error: bool = False


@dataclass(frozen=True)
class ModelMessage:
    """One history entry. A `tool` message carries all results of one step, in call order."""

    role: Role
    text: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()


@dataclass(frozen=True)
class ModelSettings:
    """A model config's validated `options`; None means the provider's default."""

    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    parallel_tool_calls: bool | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None


@dataclass(frozen=True)
class ModelRequest:
    model: str
    messages: Sequence[ModelMessage]
    system: str | None = None
    tools: Sequence[ToolSpec] = ()
    settings: ModelSettings = field(default_factory=ModelSettings)


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A fragment of a tool call as it streams: `id`/`name` on the first fragment of an index."""

    index: int
    id: str | None
    name: str | None
    arguments_delta: str


@dataclass(frozen=True)
class Usage:
    """Token counts; a count the provider did not send is None, never 0."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_creation_tokens: int | None = None
    cache_read_tokens: int | None = None


@dataclass(frozen=True)
class Finish:
    """The last event of a successful stream: why it stopped, usage, and the complete tool calls in order."""

    reason: FinishReason
    usage: Usage
    tool_calls: tuple[ToolCall, ...] = ()


StreamEvent = TextDelta | ReasoningDelta | ToolCallDelta | Finish


class ProviderError(Exception):
    """A failed model call, classified so the loop can decide: retry (with backoff) or end the turn."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        provider: str,
        retryable: bool,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind
        self.provider = provider
        self.retryable = retryable
        self.status_code = status_code
        self.retry_after = retry_after  # seconds, from the provider's retry-after header


class ModelClient(Protocol):
    """One provider endpoint with its credentials. Built per provider config, reused across turns."""

    provider: str

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream one model call. Ends with exactly one `Finish`, or raises `ProviderError`.

        Cancelling the consuming task closes the underlying HTTP response.
        """
        ...

    async def aclose(self) -> None:
        """Release the HTTP client."""
        ...
