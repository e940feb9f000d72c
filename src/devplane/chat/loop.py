"""One chat turn: steps of (one streamed model call, then the step's tool calls concurrently through
the MCP runtime, then one transaction that stores the step), until the model stops asking for tools.

The turn runs in a worker (chat/worker.py), never in a request. Every step is persisted before the
next starts; a turn never depends on a stream being open. Interrupts keep the partial answer and
answer every open tool call, so the stored history always stays valid for the next model call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from devplane.chat.history import INTERRUPTED, capped_for_model, error_content, to_model_messages
from devplane.chat.provider import (
    Finish,
    ModelClient,
    ModelRequest,
    ModelSettings,
    ProviderError,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
)
from devplane.db.chat_rows import SYSTEM_PROMPT_KEY, ChatModelConfigRow, ChatProviderRow
from devplane.db.database import Database
from devplane.db.mcp_rows import ChatMessageRow, ChatRow, MCPServerConfigRow
from devplane.mcp.errors import MCPRuntimeError, ToolNotAllowed
from devplane.mcp.runtime import ForcedServerUnavailable, MCPRuntime
from devplane.services import chat_turns

log = structlog.get_logger(__name__)

STEP_CAP_NOTICE = "Reached the tool-step limit for this turn; send a message to continue."
USAGE_KEYS = ("input_tokens", "output_tokens", "reasoning_tokens", "cache_creation_tokens", "cache_read_tokens")

ClientFor = Callable[[ChatProviderRow], ModelClient]
Publish = Callable[[uuid.UUID, dict[str, Any]], None]


@dataclass(frozen=True)
class LoopSettings:
    max_steps: int = 50
    tool_result_max_bytes: int = 64 * 1024
    silence_seconds: float = 120.0
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 60.0


class TurnFailed(Exception):
    """Ends the turn in `error` with this `last_error`."""

    def __init__(
        self, message: str, *, kind: str, provider: str = "", retryable: bool = False, status: int | None = None
    ):
        super().__init__(message)
        self.error = {
            "message": message,
            "kind": kind,
            "provider": provider,
            "retryable": retryable,
            "status_code": status,
        }


@dataclass
class StepState:
    """What the current step has produced so far (kept on interrupt)."""

    text: str = ""
    reasoning: str = ""
    calls: dict[int, dict[str, str]] = field(default_factory=dict)  # index -> {id, name, arguments}
    finished: tuple[ToolCall, ...] = ()
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # tool_call_id -> stored result part

    def tool_calls(self) -> list[ToolCall]:
        if self.finished:
            return list(self.finished)
        return [
            ToolCall(id=c.get("id") or f"call_{i}", name=c.get("name") or "", arguments=c.get("arguments") or "")
            for i, c in sorted(self.calls.items())
        ]


def _usage_dict(usage: Usage) -> dict[str, int | None]:
    return {k: getattr(usage, k) for k in USAGE_KEYS}


def add_usage(total: dict[str, Any] | None, more: dict[str, Any] | None) -> dict[str, Any] | None:
    """Sum two usage dicts key by key; a count neither sent stays None (never 0)."""
    if more is None:
        return total
    if total is None:
        return dict(more)
    out: dict[str, Any] = {}
    for key in USAGE_KEYS:
        a, b = total.get(key), more.get(key)
        out[key] = None if a is None and b is None else (a or 0) + (b or 0)
    return out


@dataclass
class Turn:
    """Everything one turn needs, loaded once at its start."""

    chat: ChatRow
    model: ChatModelConfigRow
    provider: ChatProviderRow
    system_prompt: str
    history: list[ChatMessageRow]


class TurnRunner:
    def __init__(
        self,
        db: Database,
        runtime: MCPRuntime,
        client_for: ClientFor,
        settings: LoopSettings,
        publish: Publish | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.db = db
        self.runtime = runtime
        self.client_for = client_for
        self.settings = settings
        self.publish = publish or (lambda chat_id, event: None)
        self.sleep = sleep

    # --- loading ---------------------------------------------------------------------------------
    async def load(self, chat_id: uuid.UUID) -> Turn:
        async with self.db.read_session() as tx:
            store = tx.system("load a chat turn")
            chat = await store.get_chat_by_id(chat_id)
            model = None
            if chat.model_config_id is not None:
                model = await store.get_chat_model_config_by_id(chat.model_config_id)
            if model is None or not model.live or not model.enabled:
                # The chosen model was deleted or disabled since: the deployment's default answers.
                model = next((m for m in await store.list_chat_model_configs() if m.is_default and m.enabled), None)
            if model is None:
                raise TurnFailed("No model is configured for this chat.", kind="config")
            provider = await store.get_chat_provider_by_id(model.provider_id)
            if not provider.enabled:
                raise TurnFailed(
                    "The model's provider is disabled.", kind="provider_disabled", provider=provider.provider
                )
            prompt = await store.get_chat_setting(SYSTEM_PROMPT_KEY)
            history = await store.list_chat_messages(chat_id)
        return Turn(chat=chat, model=model, provider=provider, system_prompt=prompt, history=history)

    # --- the turn ----------------------------------------------------------------------------------
    async def run(self, chat_id: uuid.UUID, worker_id: str, why_stopped: Callable[[], str | None]) -> None:
        """Run the turn to its end and leave the chat waiting / pending / error.

        Cancelling the task stops it; `why_stopped()` then says what to do. "interrupt": keep the
        partial step, answer its open tool calls, end the turn. "shutdown": leave the step unsaved and
        hand the chat back (pending) for another worker. "lost": another worker took the chat over,
        so write nothing at all.
        """
        error: dict[str, Any] | None = None
        try:
            turn = await self.load(chat_id)
            # Live events of this turn follow the newest committed message (the user's, usually).
            self.publish(chat_id, {"type": "message", "seq": turn.chat.last_seq})
            await self._steps(turn, worker_id, why_stopped)
        except asyncio.CancelledError:
            reason = why_stopped()
            if reason == "interrupt":
                await asyncio.shield(self._end(chat_id, worker_id, None))
            elif reason == "shutdown":
                await asyncio.shield(self._release(chat_id, worker_id))
            raise
        except TurnFailed as exc:
            error = exc.error
        except Exception as exc:  # a bug must not leave the chat stuck running
            log.exception("chat.turn_crashed", chat_id=str(chat_id))
            error = {"message": "The turn failed unexpectedly.", "kind": "generic", "provider": "",
                     "retryable": False, "status_code": None, "detail": type(exc).__name__}  # fmt: skip
        await self._end(chat_id, worker_id, error)

    async def _end(self, chat_id: uuid.UUID, worker_id: str, error: dict[str, Any] | None) -> None:
        async with self.db.transaction() as tx:
            await chat_turns.end_turn(tx.system("end a chat turn"), chat_id, worker_id, error=error)
        if error is not None:
            self.publish(chat_id, {"type": "error", "error": error})
        self.publish(chat_id, {"type": "status"})

    async def _release(self, chat_id: uuid.UUID, worker_id: str) -> None:
        async with self.db.transaction() as tx:
            await chat_turns.set_status(
                tx.system("hand a chat back at shutdown"), chat_id, chat_turns.PENDING, expect_worker=worker_id
            )

    async def _steps(self, turn: Turn, worker_id: str, why_stopped: Callable[[], str | None]) -> None:
        chat = turn.chat
        await self._title(turn)
        client = self.client_for(turn.provider)
        try:
            configs = await self.runtime.effective_configs(chat.mcp_server_ids)
            tools = await self._tools(chat, configs, turn.provider.provider)
            messages = to_model_messages(turn.history)
            for _ in range(self.settings.max_steps):
                state = StepState()
                try:
                    finish = await self._model_call(client, turn, messages, tools, state, chat.id)
                    calls = list(finish.tool_calls) if finish.reason == "tool_calls" else []
                    if calls:
                        await self._run_tools(chat, configs, calls, state)
                except asyncio.CancelledError:
                    if why_stopped() == "interrupt":
                        await asyncio.shield(self._persist(turn, state, None, interrupted=True))
                    raise
                rows = await self._persist(turn, state, finish.usage)
                turn.history.extend(rows)
                messages = to_model_messages(turn.history)
                if not calls:
                    return
            await self._notice(turn, STEP_CAP_NOTICE)
        finally:
            await client.aclose()

    async def _title(self, turn: Turn) -> None:
        """Best effort, from the first message: its first six words. (A model-written title with a
        10 s budget is left for later: it costs a model call per chat and must never delay the turn.)"""
        users = [m for m in turn.history if m.role == "user"]
        if turn.chat.title or len(users) != 1:
            return
        words = "".join(p.get("text", "") for p in users[0].content if p.get("type") == "text").split()
        title = " ".join(words[:6]) + ("…" if len(words) > 6 else "")
        title = title[:80]
        if not title:
            return
        try:
            async with self.db.transaction() as tx:
                await tx.system("title a chat").update_chat_title(turn.chat.id, title)
        except Exception:  # a title is never worth failing a turn for
            log.warning("chat.title_failed", chat_id=str(turn.chat.id))
            return
        self.publish(turn.chat.id, {"type": "title_change", "title": title})

    async def _tools(self, chat: ChatRow, configs: list[MCPServerConfigRow], provider: str) -> list[ToolSpec]:
        try:
            catalog = await self.runtime.catalog(chat.owner_id, configs)
        except ForcedServerUnavailable as exc:
            raise TurnFailed(exc.reason, kind="config", provider=provider) from None
        return [ToolSpec(name=t.name, description=t.description, input_schema=t.input_schema) for t in catalog.tools]

    # --- one model call, with retries ---------------------------------------------------------------
    async def _model_call(
        self,
        client: ModelClient,
        turn: Turn,
        messages: list[Any],
        tools: list[ToolSpec],
        state: StepState,
        chat_id: uuid.UUID,
    ) -> Finish:
        options = turn.model.options
        request = ModelRequest(
            model=turn.model.model,
            messages=capped_for_model(messages, self.settings.tool_result_max_bytes),
            system=turn.system_prompt or None,
            tools=tools,
            settings=ModelSettings(**{k: v for k, v in options.items() if k in ModelSettings.__dataclass_fields__}),
        )
        for attempt in range(1, self.settings.max_attempts + 1):
            try:
                return await self._stream(client, request, state, chat_id)
            except ProviderError as exc:
                if not exc.retryable or attempt == self.settings.max_attempts:
                    raise TurnFailed(
                        exc.message,
                        kind=exc.kind,
                        provider=exc.provider,
                        retryable=exc.retryable,
                        status=exc.status_code,
                    ) from None
                delay = exc.retry_after
                if delay is None:
                    delay = min(self.settings.backoff_base * 2 ** (attempt - 1), self.settings.backoff_cap)
                    delay *= 0.5 + random.random() / 2  # noqa: S311 - jitter, not security
                delay = min(delay, self.settings.backoff_cap)
                retry = {
                    "attempt": attempt,
                    "delay_ms": round(delay * 1000),
                    "error": exc.message,
                    "kind": exc.kind,
                    "provider": exc.provider,
                    "status_code": exc.status_code,
                    "retrying_at": (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)).isoformat(),
                }
                self.publish(chat_id, {"type": "retry", "retry": retry})
                state.text, state.reasoning, state.calls = "", "", {}  # the partial answer is dropped
                await self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _stream(self, client: ModelClient, request: ModelRequest, state: StepState, chat_id: uuid.UUID) -> Finish:
        stream: AsyncIterator[StreamEvent] = aiter(client.stream(request))
        silence = self.settings.silence_seconds
        try:
            while True:
                try:
                    event = await asyncio.wait_for(anext(stream), timeout=silence)
                except StopAsyncIteration:
                    raise ProviderError(
                        "The model's stream ended without finishing.", kind="connection", provider=client.provider,
                        retryable=True,
                    ) from None  # fmt: skip
                except TimeoutError:
                    raise ProviderError(
                        f"No data from the model for {silence:g} s.", kind="stream_silence_timeout",
                        provider=client.provider, retryable=True,
                    ) from None  # fmt: skip
                if isinstance(event, Finish):
                    state.finished = event.tool_calls
                    return event
                self._apply(event, state, chat_id)
        finally:
            closer = getattr(stream, "aclose", None)
            if closer is not None:
                await closer()

    def _apply(self, event: StreamEvent, state: StepState, chat_id: uuid.UUID) -> None:
        if isinstance(event, TextDelta):
            state.text += event.text
            part: dict[str, Any] = {"type": "text", "text": event.text}
        elif isinstance(event, ReasoningDelta):
            state.reasoning += event.text
            part = {"type": "reasoning", "text": event.text}
        elif isinstance(event, ToolCallDelta):
            call = state.calls.setdefault(event.index, {"id": "", "name": "", "arguments": ""})
            call["id"] = event.id or call["id"]
            call["name"] = event.name or call["name"]
            call["arguments"] += event.arguments_delta
            part = {
                "type": "tool-call",
                "tool_call_id": call["id"],
                "tool_name": call["name"],
                "args_delta": event.arguments_delta,
            }
        else:  # pragma: no cover - Finish is handled by the caller
            return
        self.publish(chat_id, {"type": "message_part", "message_part": {"role": "assistant", "part": part}})

    # --- tools ----------------------------------------------------------------------------------
    async def _run_tools(
        self, chat: ChatRow, configs: list[MCPServerConfigRow], calls: list[ToolCall], state: StepState
    ) -> None:
        async def one(call: ToolCall) -> None:
            state.results[call.id] = await self._call(chat, configs, call)

        await asyncio.gather(*(one(c) for c in calls))

    async def _call(self, chat: ChatRow, configs: list[MCPServerConfigRow], call: ToolCall) -> dict[str, Any]:
        t0 = time.perf_counter()
        config_id, is_error = None, True
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            content = error_content("Tool arguments must be a JSON object; the tool was not called.")
        else:
            try:
                message = await self.runtime.call(chat.owner_id, configs, call.name, arguments, chat_id=chat.id)
            except ForcedServerUnavailable as exc:
                raise TurnFailed(exc.reason, kind="config") from None
            except ToolNotAllowed as exc:
                content = error_content(exc.reason)
            except MCPRuntimeError as exc:
                content = error_content(f"The tool failed: {exc.reason}")
            else:
                if "error" in message:
                    content = error_content(str((message.get("error") or {}).get("message") or "The tool call failed."))
                else:
                    result = message.get("result") or {}
                    content = list(result.get("content") or [])
                    is_error = bool(result.get("isError"))
                config_id = next((str(c.id) for c in configs if call.name.startswith(f"{c.slug}__")), None)
        return {
            "type": "tool-result",
            "tool_call_id": call.id,
            "tool_name": call.name,
            "result": content,
            "is_error": is_error,
            "mcp_server_config_id": config_id,
            "duration_ms": round((time.perf_counter() - t0) * 1000, 2),
        }

    # --- persistence ---------------------------------------------------------------------------------
    async def _persist(
        self, turn: Turn, state: StepState, usage: Usage | None, *, interrupted: bool = False
    ) -> list[ChatMessageRow]:
        """One transaction: the assistant message and the tool results, in call order."""
        chat = turn.chat
        calls = [c for c in state.tool_calls() if c.name or c.arguments]
        slugs = {f"{c.slug}__": str(c.id) for c in await self.runtime.effective_configs(chat.mcp_server_ids)}
        parts: list[dict[str, Any]] = []
        if state.reasoning:
            parts.append({"type": "reasoning", "text": state.reasoning})
        if state.text:
            parts.append({"type": "text", "text": state.text})
        for call in calls:
            server = next((i for prefix, i in slugs.items() if call.name.startswith(prefix)), None)
            parts.append(
                {
                    "type": "tool-call",
                    "tool_call_id": call.id,
                    "tool_name": call.name,
                    "args": call.arguments,
                    "mcp_server_config_id": server,
                }
            )
        results = [
            state.results.get(c.id)
            or {
                "type": "tool-result",
                "tool_call_id": c.id,
                "tool_name": c.name,
                "result": error_content(INTERRUPTED),
                "is_error": True,
                "mcp_server_config_id": None,
                "duration_ms": None,
            }
            for c in calls
        ]
        if not parts:
            return []
        usage_dict = _usage_dict(usage) if usage is not None else None
        now = dt.datetime.now(dt.UTC)
        stored: list[ChatMessageRow] = []
        async with self.db.transaction() as tx:
            store = tx.system("store a chat step")
            stored.append(
                await store.insert_chat_message(
                    ChatMessageRow(
                        id=uuid.uuid4(),
                        chat_id=chat.id,
                        role="assistant",
                        content=tuple(parts),
                        created_at=now,
                        owner_id=chat.owner_id,
                        model_config_id=turn.model.id,
                        usage=usage_dict,
                    )
                )
            )
            if results:
                stored.append(
                    await store.insert_chat_message(
                        ChatMessageRow(
                            id=uuid.uuid4(),
                            chat_id=chat.id,
                            role="tool",
                            content=tuple(results),
                            created_at=now,
                            owner_id=chat.owner_id,
                        )
                    )
                )
            current = await store.get_chat_by_id(chat.id, for_update=True)
            if usage_dict is not None:
                await store.update_chat_usage(chat.id, add_usage(current.usage, usage_dict))
            await chat_turns.publish(store, await store.get_chat_by_id(chat.id))
        for row in stored:
            self.publish(chat.id, {"type": "message", "seq": row.seq})
        if interrupted:
            log.info("chat.interrupted", chat_id=str(chat.id), open_calls=len(calls) - len(state.results))
        return stored

    async def _notice(self, turn: Turn, text: str) -> None:
        async with self.db.transaction() as tx:
            store = tx.system("store a chat notice")
            row = await store.insert_chat_message(
                ChatMessageRow(
                    id=uuid.uuid4(),
                    chat_id=turn.chat.id,
                    role="assistant",
                    content=({"type": "notice", "text": text},),
                    created_at=dt.datetime.now(dt.UTC),
                    owner_id=turn.chat.owner_id,
                    model_config_id=turn.model.id,
                )
            )
        self.publish(turn.chat.id, {"type": "message", "seq": row.seq})
