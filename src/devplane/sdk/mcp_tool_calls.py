"""Wire types for the MCP tool-call log (admins and auditors)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field


class MCPToolCall(BaseModel):
    """One governed tool call. Sizes only: devplane never stores arguments or results."""

    id: uuid.UUID
    created_at: dt.datetime = Field(description="When the call started.")
    user_id: uuid.UUID | None = Field(description="Null once the user is deleted.")
    chat_id: uuid.UUID | None = Field(description="The chat the call was made for; null through the MCP gateway.")
    server_id: uuid.UUID | None = Field(description="The MCP server config; null for unknown tools or once deleted.")
    server_slug: str = Field(description="The server's slug at call time; empty for unknown tools.")
    tool: str = Field(description="The tool's name on its MCP server (or the name asked for, if unknown).")
    duration_ms: float
    outcome: str = Field(description="ok | tool_error | rpc_error | timeout | auth_required | error | denied")
    error_class: str = Field(description="Empty on success; the error's class otherwise, e.g. UpstreamTimeout.")
    arguments_bytes: int = Field(description="Size in bytes of the arguments as compact UTF-8 JSON (as forwarded).")
    result_bytes: int = Field(description="Size in bytes of the result (or error) as compact UTF-8 JSON.")
    oauth2_app_id: uuid.UUID | None = Field(
        None, description="The OAuth2 client the gateway call came through; null for API keys and chats."
    )


class MCPToolCallsResponse(BaseModel):
    tool_calls: list[MCPToolCall] = Field(description="Newest first.")
    count: int = Field(description="Total calls matching the filter, ignoring limit/offset.")
