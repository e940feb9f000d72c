"""Wire types for live MCP: tool catalogs, server status and tool calls."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Tool(BaseModel):
    name: str = Field(description="`<slug>__<tool>`, at most 64 characters.")
    server_id: uuid.UUID
    server_slug: str
    tool_name: str = Field(description="The tool's name on its MCP server.")
    description: str
    input_schema: dict[str, Any]


class ServerToolStatus(BaseModel):
    id: uuid.UUID
    slug: str
    status: str = Field(description="connected | auth_required | timeout | error | no_tools")
    reason: str | None = None
    tool_count: int
    latency_ms: float


class ChatTools(BaseModel):
    tools: list[Tool]
    servers: list[ServerToolStatus]


class UpstreamTool(BaseModel):
    name: str
    description: str
    input_schema: dict[str, Any]
    allowed: bool = Field(description="Whether the allow/deny lists let it through.")


class ServerTools(BaseModel):
    server: ServerToolStatus
    tools: list[UpstreamTool]


class CallToolRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    arguments: dict[str, Any] = Field(default_factory=dict)


class CallToolResponse(BaseModel):
    content: list[dict[str, Any]]
    is_error: bool
    structured_content: Any = None
    error_code: int | None = Field(None, description="Set when the upstream answered a JSON-RPC error.")
