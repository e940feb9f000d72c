"""Anthropic Messages over the official `anthropic` SDK (raw stream events, no helper state).

Wire choices a successor may question:
- `max_tokens` is required by the API: 4096 when the model config does not set it.
- `reasoning_effort` turns on manual extended thinking with a budget (low 1024, medium 4096, high
  16384 tokens; it must stay below max_tokens, which grows by the budget when unset). Thinking is
  only requested for a call that starts a turn (the last message is the user's): continuing after
  tool results would require the previous thinking blocks with their signatures, which the
  provider interface does not carry, and a request without `thinking` needs none of them.
- temperature/top_p are not parameters of this SDK version (newer models reject them); when a
  model config sets them they are sent as extra body fields for the models and gateways that
  accept them, and never together with thinking (the API refuses that combination).
- All tool results of a step go in ONE user message of `tool_result` blocks, in call order; MCP
  images become image blocks inside the result.
- Tool-call fragments are numbered by tool call (0, 1, ...), not by Anthropic's block index, so
  `ToolCallDelta.index` matches the position in `Finish.tool_calls` as with OpenAI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx2

from devplane.chat.provider import (
    Finish,
    FinishReason,
    ModelMessage,
    ModelRequest,
    ModelSettings,
    ProviderError,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
    Usage,
)
from devplane.chat.providers import content
from devplane.chat.providers.errors import (
    body_error,
    classify_status,
    connection_error,
    malformed_stream,
    raw_transport_error,
    redact,
    stream_ended_early,
    timeout_error,
)
from devplane.fastjson import loads

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
DEFAULT_MAX_TOKENS = 4096
# "minimal" is OpenAI's lowest effort; Anthropic's lowest thinking budget is 1024 tokens, so both map there.
THINKING_BUDGET = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
_MIN_THINKING_BUDGET = 1024

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


class AnthropicMessagesClient:
    """A ModelClient for the Anthropic Messages API (or a gateway speaking it)."""

    provider = "anthropic"

    def __init__(self, *, api_key: str, base_url: str | None = None, timeout: float = 600.0) -> None:
        self._api_key = api_key
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url or ANTHROPIC_BASE_URL,  # explicit: ANTHROPIC_BASE_URL must not redirect it
            max_retries=0,  # the loop owns retries (provider.py)
            timeout=httpx2.Timeout(timeout, connect=min(5.0, timeout)),
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        try:
            events = await self._client.messages.create(**build_request(request))
            async with events:
                state = _State()
                async for event in events:
                    for out in state.feed(event):
                        yield out
            if not state.stopped:
                raise stream_ended_early(self.provider)
            yield state.finish()
        except anthropic.APIStatusError as exc:
            raise self._status_error(exc) from None
        except anthropic.APITimeoutError:
            raise timeout_error(self.provider) from None
        except anthropic.APIConnectionError as exc:
            raise connection_error(self.provider, exc) from None
        except httpx2.TransportError as exc:
            raise raw_transport_error(self.provider, exc) from None
        except ValueError as exc:  # a data line that is not JSON: the SDK's json.loads fails
            raise malformed_stream(self.provider, exc) from None

    def _status_error(self, exc: anthropic.APIStatusError) -> ProviderError:
        error = body_error(exc.body)
        message = error.get("message")
        in_stream = exc.status_code == 200  # an `error` event after the 200 headers
        return classify_status(
            provider=self.provider,
            status=None if in_stream else exc.status_code,
            error_type=str(error["type"]) if isinstance(error.get("type"), str) else None,
            code=exc.error_code,
            message=redact(message if isinstance(message, str) else exc.message, self._api_key),
            headers=None if in_stream else exc.response.headers,
        )

    @property
    def base_url(self) -> str:
        """Where requests go (never carries the key)."""
        return str(self._client.base_url)

    async def aclose(self) -> None:
        await self._client.close()


@dataclass
class _Call:
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)


@dataclass
class _State:
    calls: list[_Call] = field(default_factory=list)
    block_call: dict[int, int] = field(default_factory=dict)  # Anthropic block index → call ordinal
    stop_reason: str | None = None
    stopped: bool = False
    usage: dict[str, int | None] = field(default_factory=dict)

    def feed(self, event: Any) -> list[StreamEvent]:
        kind = event.type
        if kind == "message_start":
            self._take_usage(event.message.usage)
        elif kind == "content_block_start":
            block = event.content_block
            if block.type == "tool_use":
                self.block_call[event.index] = len(self.calls)
                self.calls.append(_Call(id=block.id, name=block.name))
                return [ToolCallDelta(index=len(self.calls) - 1, id=block.id, name=block.name, arguments_delta="")]
            if block.type == "text" and block.text:
                return [TextDelta(text=block.text)]
        elif kind == "content_block_delta":
            return self._delta(event.index, event.delta)
        elif kind == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            self._take_usage(event.usage)
        elif kind == "message_stop":
            self.stopped = True
        return []

    def _delta(self, index: int, delta: Any) -> list[StreamEvent]:
        if delta.type == "text_delta" and delta.text:
            return [TextDelta(text=delta.text)]
        if delta.type == "thinking_delta" and delta.thinking:
            return [ReasoningDelta(text=delta.thinking)]
        if delta.type == "input_json_delta" and index in self.block_call:
            ordinal = self.block_call[index]
            self.calls[ordinal].arguments.append(delta.partial_json)
            return [ToolCallDelta(index=ordinal, id=None, name=None, arguments_delta=delta.partial_json)]
        return []  # signature and citation deltas: not part of the provider interface

    def _take_usage(self, usage: Any) -> None:
        # message_delta counts are cumulative; some gateways only send input_tokens there.
        details = getattr(usage, "output_tokens_details", None)
        for key, value in (
            ("input", getattr(usage, "input_tokens", None)),
            ("output", getattr(usage, "output_tokens", None)),
            ("reasoning", getattr(details, "thinking_tokens", None)),
            ("cache_creation", getattr(usage, "cache_creation_input_tokens", None)),
            ("cache_read", getattr(usage, "cache_read_input_tokens", None)),
        ):
            if value is not None:
                self.usage[key] = value

    def finish(self) -> Finish:
        calls = tuple(ToolCall(id=c.id, name=c.name, arguments="".join(c.arguments) or "{}") for c in self.calls)
        reason = _FINISH.get(self.stop_reason or "", "other")
        u = self.usage
        return Finish(
            reason=reason,
            usage=Usage(
                input_tokens=u.get("input"),
                output_tokens=u.get("output"),
                reasoning_tokens=u.get("reasoning"),
                cache_creation_tokens=u.get("cache_creation"),
                cache_read_tokens=u.get("cache_read"),
            ),
            tool_calls=calls,
        )


def build_request(request: ModelRequest) -> dict[str, Any]:
    """The keyword arguments of `messages.create` for one streamed model call."""
    settings = request.settings
    params: dict[str, Any] = {
        "model": request.model,
        "messages": convert_messages(request.messages),
        "stream": True,
    }
    if request.system:
        params["system"] = request.system
    if request.tools:
        params["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in request.tools
        ]
        if settings.parallel_tool_calls is False:
            params["tool_choice"] = {"type": "auto", "disable_parallel_tool_use": True}
    starts_turn = bool(request.messages) and request.messages[-1].role == "user"
    max_tokens, thinking = _budget(settings, starts_turn=starts_turn)
    params["max_tokens"] = max_tokens
    if thinking is not None:
        params["thinking"] = {"type": "enabled", "budget_tokens": thinking}
    else:
        extra = {k: v for k, v in (("temperature", settings.temperature), ("top_p", settings.top_p)) if v is not None}
        if extra:
            params["extra_body"] = extra
    return params


def _budget(settings: ModelSettings, *, starts_turn: bool) -> tuple[int, int | None]:
    """(max_tokens, thinking budget or None)."""
    if settings.reasoning_effort is None or not starts_turn:
        return settings.max_output_tokens or DEFAULT_MAX_TOKENS, None
    budget = THINKING_BUDGET[settings.reasoning_effort]
    if settings.max_output_tokens is None:
        return budget + DEFAULT_MAX_TOKENS, budget
    if settings.max_output_tokens <= _MIN_THINKING_BUDGET:
        return settings.max_output_tokens, None  # no room to think within the configured cap
    return settings.max_output_tokens, min(budget, settings.max_output_tokens - 1)


def convert_messages(messages: Sequence[ModelMessage]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "user":
            out.append({"role": "user", "content": message.text})
        elif message.role == "assistant":
            blocks: list[dict[str, Any]] = []
            if message.text:
                blocks.append({"type": "text", "text": message.text})
            blocks.extend(
                {"type": "tool_use", "id": c.id, "name": c.name, "input": _input(c.arguments)}
                for c in message.tool_calls
            )
            if blocks:  # an empty interrupted answer: the API refuses empty content
                out.append({"role": "assistant", "content": blocks})
        elif message.tool_results:
            out.append({"role": "user", "content": [_tool_result(r) for r in message.tool_results]})
    return out


def _input(arguments: str) -> dict[str, Any]:
    """The call's arguments as the object the API wants; malformed JSON (already answered with an
    error result by the loop) becomes {} so the history stays valid."""
    try:
        parsed = loads(arguments or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _tool_result(result: ToolResult) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    for block in result.content:
        text = content.block_text(block)
        if text is None:
            image = next(content.images([block]))
            blocks.append(
                {"type": "image", "source": {"type": "base64", "media_type": image.mime_type, "data": image.data}}
            )
        elif text:  # the API refuses empty text blocks
            blocks.append({"type": "text", "text": text})
    if not blocks:
        blocks.append({"type": "text", "text": "(no content)"})
    entry: dict[str, Any] = {"type": "tool_result", "tool_use_id": result.tool_call_id, "content": blocks}
    if result.is_error:
        entry["is_error"] = True
    return entry
