"""Stored message content <-> the provider interface's messages, and the tool-result cap.

Stored parts (one list per message, the wire format of ChatMessage.content too):
`text`, `reasoning`, `notice` (shown to people, never sent to the model),
`tool-call` {tool_call_id, tool_name, args (the raw JSON text), mcp_server_config_id},
`tool-result` {tool_call_id, tool_name, result (MCP content blocks), is_error, mcp_server_config_id, duration_ms}.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from devplane import fastjson
from devplane.chat.provider import ModelMessage, ToolCall, ToolResult
from devplane.db.mcp_rows import ChatMessageRow

INTERRUPTED = "tool call was interrupted before it produced a result"


def to_model_messages(rows: Iterable[ChatMessageRow]) -> list[ModelMessage]:
    out: list[ModelMessage] = []
    for row in rows:
        parts = list(row.content)
        if row.role == "user":
            text = "".join(p.get("text", "") for p in parts if p.get("type") == "text")
            out.append(ModelMessage(role="user", text=text))
        elif row.role == "assistant":
            text = "".join(p.get("text", "") for p in parts if p.get("type") == "text")
            reasoning = "".join(p.get("text", "") for p in parts if p.get("type") == "reasoning")
            calls = tuple(
                ToolCall(id=p["tool_call_id"], name=p["tool_name"], arguments=p.get("args") or "{}")
                for p in parts
                if p.get("type") == "tool-call"
            )
            if text or reasoning or calls:
                out.append(ModelMessage(role="assistant", text=text, reasoning=reasoning, tool_calls=calls))
        elif row.role == "tool":
            results = tuple(
                ToolResult(
                    tool_call_id=p["tool_call_id"],
                    name=p["tool_name"],
                    content=list(p.get("result") or []),
                    is_error=bool(p.get("is_error")),
                )
                for p in parts
                if p.get("type") == "tool-result"
            )
            if results:
                out.append(ModelMessage(role="tool", tool_results=results))
    return out


def cap_result(content: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """What the model sees of a tool result: text blocks cut to `limit` bytes in total, with a
    notice saying how much was shown. Images (and other non-text blocks) are never cut."""
    total = sum(len(str(b.get("text", "")).encode()) for b in content if b.get("type") == "text")
    if total <= limit:
        return content
    out: list[dict[str, Any]] = []
    left = limit
    for block in content:
        if block.get("type") != "text":
            out.append(block)
            continue
        data = str(block.get("text", "")).encode()
        kept = data[: max(left, 0)].decode(errors="ignore")
        left -= len(kept.encode())
        if kept:
            out.append({**block, "text": kept})
    out.append({"type": "text", "text": f"[truncated: {limit - max(left, 0)} of {total} bytes shown]"})
    return out


def capped_for_model(messages: list[ModelMessage], limit: int) -> list[ModelMessage]:
    out = []
    for message in messages:
        if message.role != "tool":
            out.append(message)
            continue
        results = tuple(
            ToolResult(r.tool_call_id, r.name, cap_result(r.content, limit), r.is_error) for r in message.tool_results
        )
        out.append(ModelMessage(role="tool", tool_results=results))
    return out


def error_content(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}]


def size(value: Any) -> int:
    return len(fastjson.dumps(value))
