"""Wire types for chats (just enough for MCP server selection; the chat loop comes later)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


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
