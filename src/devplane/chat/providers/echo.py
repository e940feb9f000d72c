"""The built-in `echo` provider: a whole turn, tool calls included, with no model account.

It answers with the user's text. A message `/call <tool> <json arguments>` asks for that tool
call (the tool name as the chat's catalog shows it, `<slug>__<tool>`); after the results come
back it answers with their text. It is a test provider: listed as such everywhere, never billed,
never networked.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

from devplane.chat.provider import (
    Finish,
    ModelMessage,
    ModelRequest,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
    Usage,
)

_CALL = re.compile(r"^/call\s+(?P<tool>\S+)\s*(?P<args>.*)$", re.DOTALL)
# The answer streams in word-sized parts, so a UI shows it arriving like a real model's.
_PART = re.compile(r"\S+\s*|\s+")


class EchoClient:
    provider = "echo"

    def __init__(self) -> None:
        self._calls = 0

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        last = request.messages[-1] if request.messages else ModelMessage(role="user")
        if last.role == "tool":
            async for event in _words(_describe_results(last.tool_results)):
                yield event
            return
        match = _CALL.match(last.text.strip()) if last.role == "user" else None
        if match is None:
            async for event in _words(last.text or "(empty message)"):
                yield event
            return
        arguments = match["args"].strip() or "{}"
        try:
            json.loads(arguments)
        except ValueError as exc:
            async for event in _words(f"/call needs JSON arguments: {exc}"):
                yield event
            return
        self._calls += 1
        call = ToolCall(id=f"echo_call_{self._calls}", name=match["tool"], arguments=arguments)
        yield ToolCallDelta(index=0, id=call.id, name=call.name, arguments_delta=arguments)
        yield Finish(reason="tool_calls", usage=Usage(), tool_calls=(call,))

    async def aclose(self) -> None:
        return None


async def _words(text: str) -> AsyncIterator[StreamEvent]:
    for part in _PART.findall(text):
        yield TextDelta(text=part)
    yield Finish(reason="stop", usage=Usage())


def _describe_results(results: tuple[ToolResult, ...]) -> str:
    lines = []
    for result in results:
        texts = [str(block.get("text", "")) for block in result.content if block.get("type") == "text"]
        others = [str(block.get("type")) for block in result.content if block.get("type") != "text"]
        body = " ".join(t for t in texts if t) or (f"[{', '.join(others)}]" if others else "(no content)")
        prefix = f"{result.name} failed" if result.is_error else result.name
        lines.append(f"{prefix}: {body}")
    return "\n".join(lines) or "(no tool results)"
