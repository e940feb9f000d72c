"""Wire types for chats (just enough for MCP server selection; the chat loop comes later)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ChatStatus = Literal["waiting", "pending", "running", "error"]


class ChatUsage(BaseModel):
    """Token counts; a count the provider did not report is null, never 0."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_creation_tokens: int | None = None
    cache_read_tokens: int | None = None


class ChatError(BaseModel):
    message: str
    kind: str = Field(description="generic, rate_limit, auth, config, timeout, stream_silence_timeout, ...")
    provider: str = ""
    retryable: bool = False
    status_code: int | None = None
    detail: str = ""


class Chat(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    mcp_server_ids: list[uuid.UUID] = Field(description="The chat's selection.")
    effective_mcp_server_ids: list[uuid.UUID] = Field(
        description="What the agent gets: selection plus enabled force_on servers, minus disabled ones."
    )
    created_at: dt.datetime
    updated_at: dt.datetime
    # chat loop (issue 10)
    model_config_id: uuid.UUID | None = Field(
        None, description="The model of the next turn; null: the deployment's default at that time."
    )
    status: ChatStatus = Field("waiting", description="waiting | pending (a turn is queued) | running | error.")
    last_error: ChatError | None = Field(None, description="Why the last turn failed (status error).")
    usage: ChatUsage | None = Field(None, description="Token usage summed over the chat; null when none was reported.")


class CreateChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=256)] = ""
    mcp_server_ids: list[uuid.UUID] | None = Field(
        None, max_length=100, description="Absent: the enabled default_on servers. []: none."
    )
    # chat loop (issue 10)
    model_config_id: uuid.UUID | None = Field(None, description="Absent: the default model (GET /chats/models).")


class CreateChatMessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    mcp_server_ids: list[uuid.UUID] | None = Field(
        None, max_length=100, description="Absent or null: no change. []: clear. A list: replace."
    )
    # chat loop (issue 10)
    model_config_id: uuid.UUID | None = Field(None, description="Absent or null: no change. A model config id: use it.")


class ChatMessage(BaseModel):
    id: uuid.UUID
    chat_id: uuid.UUID
    role: str
    content: list[dict[str, Any]]
    created_at: dt.datetime
    # chat loop (issue 10)
    seq: int = Field(0, description="Order in the chat (the stream's event id); 0 for a queued message.")
    queued: bool = Field(False, description="True: the chat was busy; it is sent when the current turn ends.")
    model_config_id: uuid.UUID | None = Field(None, description="The model that wrote an assistant message.")
    usage: ChatUsage | None = Field(
        None, description="Token usage of an assistant message, as the provider reported it."
    )
