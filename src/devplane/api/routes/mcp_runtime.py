"""Live MCP: a chat's governed tool catalog and tool calls, and an admin's server check.

These routes wait on upstream servers, so they hold no request transaction: the caller comes
from the token cache and reads use short read-only sessions.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from devplane.api.deps import CachedIdentity, State, require_experiment
from devplane.api.errors import ERROR_RESPONSES
from devplane.errors import BadGateway, BadRequest, Forbidden
from devplane.mcp.errors import AuthRequired, MCPRuntimeError, ToolNotAllowed, UpstreamTimeout
from devplane.mcp.naming import tool_allowed
from devplane.mcp.runtime import ForcedServerUnavailable, MCPRuntime
from devplane.sdk.errors import Response as Envelope
from devplane.sdk.mcp_runtime import (
    CallToolRequest,
    CallToolResponse,
    ChatTools,
    ServerTools,
    ServerToolStatus,
    Tool,
    UpstreamTool,
)
from devplane.services import mcp_runtime as svc

router = APIRouter(
    prefix="/api/experimental",
    tags=["MCP runtime"],
    responses=ERROR_RESPONSES,
    dependencies=[require_experiment("agents")],
)

# Upstream MCP servers' failures: the envelope, documented so clients and fuzzers expect it.
_UPSTREAM_FAILED: dict[int | str, dict[str, Any]] = {
    502: {"model": Envelope, "description": "A required or called MCP server failed or timed out."}
}


def runtime(state: State) -> MCPRuntime:
    rt: MCPRuntime = state.extras["mcp"]
    return rt


def _status(s: Any) -> ServerToolStatus:
    return ServerToolStatus(
        id=s.id, slug=s.slug, status=s.status, reason=s.reason, tool_count=s.tool_count, latency_ms=s.latency_ms
    )


@router.get(
    "/chats/{chat_id}/tools",
    summary="The tools a chat's agent may call, and each server's status",
    responses=_UPSTREAM_FAILED,
)
async def chat_tools(
    chat_id: uuid.UUID,
    me: CachedIdentity,
    state: State,
    refresh: Annotated[bool, Query(description="Bypass the tool cache.")] = False,
) -> ChatTools:
    chat = await svc.read_chat(state.db, me.actor, chat_id)
    rt = runtime(state)
    try:
        catalog = await rt.catalog(me.user_id, await rt.effective_configs(chat.mcp_server_ids), refresh=refresh)
    except ForcedServerUnavailable as exc:
        raise BadGateway(exc.reason, detail="An administrator requires this server; ask them to fix it.") from None
    return ChatTools(
        tools=[
            Tool(
                name=t.name,
                server_id=t.server_id,
                server_slug=t.server_slug,
                tool_name=t.tool_name,
                description=t.description,
                input_schema=t.input_schema,
            )
            for t in catalog.tools
        ],
        servers=[_status(s) for s in catalog.servers],
    )


@router.post("/chats/{chat_id}/tools/call", summary="Call one of a chat's tools", responses=_UPSTREAM_FAILED)
async def call_tool(chat_id: uuid.UUID, body: CallToolRequest, me: CachedIdentity, state: State) -> CallToolResponse:
    chat = await svc.read_chat(state.db, me.actor, chat_id)
    rt = runtime(state)
    configs = await rt.effective_configs(chat.mcp_server_ids)
    try:
        message = await rt.call(me.user_id, configs, body.name, body.arguments, chat_id=chat.id)
    except ToolNotAllowed as exc:
        raise BadRequest(exc.reason, detail="List the chat's tools with GET /chats/{id}/tools.") from None
    except ForcedServerUnavailable as exc:
        raise BadGateway(exc.reason) from None
    except AuthRequired as exc:
        raise Forbidden(
            f"Authentication required: {exc.reason}.", detail="Connect your account to this MCP server, then retry."
        ) from None
    except UpstreamTimeout as exc:
        raise BadGateway(f"The tool timed out: {exc.reason}.") from None
    except MCPRuntimeError as exc:
        raise BadGateway(f"The tool's MCP server failed: {exc.reason}.") from None
    if "error" in message:
        error: dict[str, Any] = message["error"]
        return CallToolResponse(
            content=[{"type": "text", "text": str(error.get("message", "error"))}],
            is_error=True,
            error_code=error.get("code"),
        )
    result: dict[str, Any] = message.get("result") or {}
    return CallToolResponse(
        content=list(result.get("content") or []),
        is_error=bool(result.get("isError")),
        structured_content=result.get("structuredContent"),
    )


@router.get(
    "/mcp/servers/{server_id}/tools",
    summary="An upstream's raw tools and what the filters let through (admins, with their own credentials)",
)
async def server_tools(
    server_id: uuid.UUID,
    me: CachedIdentity,
    state: State,
    refresh: Annotated[bool, Query(description="Bypass the tool cache.")] = False,
) -> ServerTools:
    config = await svc.read_config_as_admin(state.db, me.actor, server_id)
    rt = runtime(state)
    status = await rt.server_status(me.user_id, config, refresh)
    raw: list[dict[str, Any]] = []
    if status.status in ("connected", "no_tools"):
        try:
            raw = await rt.raw_tools(me.user_id, config)
        except MCPRuntimeError:
            raw = []
    return ServerTools(
        server=_status(status),
        tools=[
            UpstreamTool(
                name=str(t.get("name", "")),
                description=str(t.get("description") or ""),
                input_schema=t.get("inputSchema") or {},
                allowed=tool_allowed(str(t.get("name", "")), config.tool_allow_list, config.tool_deny_list),
            )
            for t in raw
        ],
    )
