"""Wire types of a chat's event stream (`GET /api/experimental/chats/{id}/stream`, Server-Sent Events).

Each SSE event has `event:` = the type below, `id:` = a resume position, `data:` = a ChatStreamEvent
as JSON. Ids are `<seq>` for a committed message and `<seq>.<n>` for the n-th live event after the
message with that seq; send the last one back as `Last-Event-ID` to resume with no gap and no duplicate.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from devplane.sdk.chats import ChatError, ChatMessage, ChatStatus

EventType = Literal["message_part", "message", "status", "retry", "error", "queue_update", "title_change"]


class MessagePart(BaseModel):
    role: str = "assistant"
    part: dict[str, Any] = Field(
        description="A text, reasoning or tool-call fragment (tool calls carry `args_delta`), or a tool-result."
    )


class StreamStatus(BaseModel):
    status: ChatStatus
    last_error: ChatError | None = None


class StreamRetry(BaseModel):
    attempt: int = Field(description="1-based attempt that failed.")
    delay_ms: int
    error: str
    kind: str
    provider: str = ""
    status_code: int | None = None
    retrying_at: str


class ChatStreamEvent(BaseModel):
    type: EventType
    chat_id: uuid.UUID
    message: ChatMessage | None = None
    message_part: MessagePart | None = None
    status: StreamStatus | None = None
    retry: StreamRetry | None = None
    error: ChatError | None = None
    queued_messages: list[ChatMessage] | None = None
    title: str | None = None


def parse_sse_lines(lines: list[str]) -> tuple[str, ChatStreamEvent] | None:
    """One SSE event (its lines, without the blank separator) -> (id, event); None for a comment or ping."""
    fields: dict[str, str] = {}
    for line in lines:
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        fields[name] = fields[name] + "\n" + value if name == "data" and name in fields else value
    if "data" not in fields:
        return None
    return fields.get("id", ""), ChatStreamEvent.model_validate_json(fields["data"])
