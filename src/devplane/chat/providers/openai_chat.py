"""OpenAI Chat Completions over the official `openai` SDK: `openai` and `openai-compat` providers.

One adapter serves OpenAI itself and any Chat Completions endpoint (vLLM, Ollama, OpenRouter, a
LiteLLM proxy) through `base_url`. Wire choices a successor may question:
- Tool results with images: a `tool` message is text-only in Chat Completions, so the result's
  text goes in the `tool` message and its images follow, after all of the step's tool messages
  (every tool_call_id must be answered first), as one `user` message of `image_url` data URIs.
- Reasoning: OpenAI does not stream it; vLLM/DeepSeek-style servers send `reasoning_content`
  and OpenRouter-style ones `reasoning` in the delta; both become `ReasoningDelta`s. Reasoning is
  never sent back (those servers reject it in the history).
- Usage: `input_tokens` is `prompt_tokens` as sent, which on OpenAI *includes* the cached tokens
  (`cache_read_tokens`); Anthropic's does not. Counts the server did not send stay None.
- A compatible server that answers tool calls with finish_reason "stop" (Ollama does) is read
  as "tool_calls": the loop continues exactly when the model asked for tools.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai
from openai.types.chat import ChatCompletionChunk

from devplane.chat.provider import (
    Finish,
    FinishReason,
    ModelMessage,
    ModelRequest,
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

OPENAI_BASE_URL = "https://api.openai.com/v1"

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "length",
    "content_filter": "content_filter",
}


class OpenAIChatClient:
    """A ModelClient for one Chat Completions endpoint and key."""

    def __init__(
        self, *, provider: str, api_key: str | None, base_url: str | None = None, timeout: float = 600.0
    ) -> None:
        self.provider = provider
        self._api_key = api_key
        # max_retries=0: the loop owns retries so each attempt is visible (provider.py).
        self._client = openai.AsyncOpenAI(
            # A keyless local server (Ollama, vLLM) still needs a non-empty value for the SDK.
            api_key=api_key or "unused",
            # Explicit, so an OPENAI_BASE_URL in the server's environment cannot redirect a provider
            # the admin configured without one.
            base_url=base_url or OPENAI_BASE_URL,
            max_retries=0,
            timeout=httpx2.Timeout(timeout, connect=min(5.0, timeout)),
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        try:
            chunks = await self._client.chat.completions.create(**build_request(request))
            async with chunks:
                state = _State()
                async for chunk in chunks:
                    for event in state.feed(chunk):
                        yield event
            if state.finish_reason is None:
                raise stream_ended_early(self.provider)
            yield state.finish()
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except openai.APITimeoutError:
            raise timeout_error(self.provider) from None
        except openai.APIConnectionError as exc:
            raise connection_error(self.provider, exc) from None
        except openai.APIError as exc:
            # An `error` object inside the stream (OpenRouter and vLLM send one mid-stream).
            error = body_error(exc.body)
            raise classify_status(
                provider=self.provider,
                status=None,
                error_type=_str(error.get("type")),
                code=_str(error.get("code")),
                message=redact(exc.message, self._api_key),
                headers=None,
            ) from None
        except httpx2.TransportError as exc:
            raise raw_transport_error(self.provider, exc) from None
        except ValueError as exc:  # a data line that is not JSON: the SDK's json.loads fails
            raise malformed_stream(self.provider, exc) from None

    def _status_error(self, exc: openai.APIStatusError) -> ProviderError:
        error = body_error(exc.body)
        message = _str(error.get("message")) or exc.message
        return classify_status(
            provider=self.provider,
            status=exc.status_code,
            error_type=_str(error.get("type")),
            code=_str(error.get("code")),
            message=redact(message, self._api_key),
            headers=exc.response.headers,
        )

    @property
    def base_url(self) -> str:
        """Where requests go (never carries the key)."""
        return str(self._client.base_url)

    async def aclose(self) -> None:
        await self._client.close()


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else (str(value) if value is not None else None)


@dataclass
class _Call:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _State:
    """Accumulates one stream: tool-call fragments per index, the finish reason, the usage chunk."""

    calls: dict[int, _Call] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)

    def feed(self, chunk: ChatCompletionChunk) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if chunk.usage is not None:
            self.usage = _usage(chunk.usage)
        for choice in chunk.choices[:1]:  # n=1: we never ask for more
            delta = choice.delta
            extra = delta.model_extra or {}
            reasoning = extra.get("reasoning_content") or extra.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                events.append(ReasoningDelta(text=reasoning))
            if delta.content:
                events.append(TextDelta(text=delta.content))
            for fragment in delta.tool_calls or ():
                events.append(self._fragment(fragment))
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason
        return events

    def _fragment(self, fragment: Any) -> ToolCallDelta:
        index = self._index(fragment)
        call = self.calls.get(index)
        first = call is None
        if call is None:
            call = self.calls[index] = _Call()
        fn = getattr(fragment, "function", None)
        name = getattr(fn, "name", None)
        if fragment.id and not call.id:
            call.id = fragment.id
        if name and not call.name:
            call.name = name
        args = getattr(fn, "arguments", None) or ""
        call.arguments.append(args)
        # id/name only on an index's first fragment (some servers repeat them on every one).
        return ToolCallDelta(
            index=index,
            id=(fragment.id or None) if first else None,
            name=(name or None) if first else None,
            arguments_delta=args,
        )

    def _index(self, fragment: Any) -> int:
        """The fragment's `index`; a server that omits it gets one by id (a new id is a new call)."""
        index = getattr(fragment, "index", None)
        if isinstance(index, int):
            return index
        if fragment.id and all(c.id != fragment.id for c in self.calls.values()):
            return len(self.calls)
        matching = [i for i, c in self.calls.items() if fragment.id and c.id == fragment.id]
        return matching[0] if matching else max(self.calls, default=0)

    def finish(self) -> Finish:
        calls = tuple(
            ToolCall(id=c.id or f"call_{i}", name=c.name, arguments="".join(c.arguments) or "{}")
            for i, c in sorted(self.calls.items())
        )
        reason = _FINISH.get(self.finish_reason or "", "other")
        if calls and reason == "stop":
            reason = "tool_calls"
        return Finish(reason=reason, usage=self.usage, tool_calls=calls)


def _usage(usage: Any) -> Usage:
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    completion_details = getattr(usage, "completion_tokens_details", None)
    return Usage(
        input_tokens=getattr(usage, "prompt_tokens", None),
        output_tokens=getattr(usage, "completion_tokens", None),
        reasoning_tokens=getattr(completion_details, "reasoning_tokens", None),
        cache_read_tokens=getattr(prompt_details, "cached_tokens", None),
    )


def build_request(request: ModelRequest) -> dict[str, Any]:
    """The keyword arguments of `chat.completions.create` for one model call."""
    settings = request.settings
    params: dict[str, Any] = {
        "model": request.model,
        "messages": convert_messages(request.system, request.messages),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
            }
            for t in request.tools
        ]
        if settings.parallel_tool_calls is not None:
            # Only meaningful (and only accepted by some servers) when tools are sent.
            params["parallel_tool_calls"] = settings.parallel_tool_calls
    if settings.temperature is not None:
        params["temperature"] = settings.temperature
    if settings.top_p is not None:
        params["top_p"] = settings.top_p
    if settings.max_output_tokens is not None:
        params["max_completion_tokens"] = settings.max_output_tokens
    if settings.reasoning_effort is not None:
        params["reasoning_effort"] = settings.reasoning_effort
    return params


def convert_messages(system: str | None, messages: Sequence[ModelMessage]) -> list[dict[str, Any]]:
    """Our history as Chat Completions messages (see the module docstring for images)."""
    out: list[dict[str, Any]] = []
    if system:
        out.append({"role": "system", "content": system})
    for message in messages:
        if message.role == "user":
            out.append({"role": "user", "content": message.text})
        elif message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in message.tool_calls
                ]
            elif not message.text:
                entry["content"] = ""  # an interrupted empty answer: content may not be null without calls
            out.append(entry)
        else:
            out.extend(_tool_messages(message.tool_results))
    return out


def _tool_messages(results: Sequence[ToolResult]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    for result in results:
        text = content.result_text(result)
        out.append({"role": "tool", "tool_call_id": result.tool_call_id, "content": text})
        for image in content.images(result.content):
            images.append({"type": "text", "text": f"Image from the result of {result.name} ({result.tool_call_id}):"})
            url = f"data:{image.mime_type};base64,{image.data}"
            images.append({"type": "image_url", "image_url": {"url": url}})
    if images:
        out.append({"role": "user", "content": images})
    return out
