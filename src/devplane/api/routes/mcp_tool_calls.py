"""The MCP tool-call log (experiment `agents`; owners and auditors)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from devplane.api import convert
from devplane.api.deps import UserStore, require_experiment
from devplane.api.errors import ERROR_RESPONSES
from devplane.api.params import Limit, Offset
from devplane.db.mcp_rows import MCPToolCallFilter
from devplane.errors import BadRequest, FieldError
from devplane.sdk.mcp_tool_calls import MCPToolCallsResponse
from devplane.sdk.paging import DEFAULT_LIMIT

router = APIRouter(
    prefix="/api/experimental/mcp/tool-calls",
    tags=["MCP runtime"],
    responses=ERROR_RESPONSES,
    dependencies=[require_experiment("agents")],
)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


@router.get("", summary="Search the MCP tool-call log (owners, auditors)")
async def list_tool_calls(
    store: UserStore,
    server_id: Annotated[uuid.UUID | None, Query(description="An MCP server config id.")] = None,
    user_id: uuid.UUID | None = None,
    chat_id: uuid.UUID | None = None,
    tool: Annotated[str | None, Query(max_length=256, description="The tool's name on its server.")] = None,
    outcome: Annotated[
        str | None, Query(max_length=64, description="ok, tool_error, rpc_error, timeout, auth_required, error, denied")
    ] = None,
    since: Annotated[dt.datetime | None, Query(description="Inclusive; ISO 8601, UTC if no offset.")] = None,
    until: Annotated[dt.datetime | None, Query(description="Exclusive; ISO 8601, UTC if no offset.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> MCPToolCallsResponse:
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and since >= until:
        raise BadRequest("Invalid time range.", validations=[FieldError("until", "Must be after since.")])
    flt = MCPToolCallFilter(
        config_id=server_id,
        user_id=user_id,
        chat_id=chat_id,
        tool=tool,
        outcome=outcome,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    rows, count = await store.list_mcp_tool_calls(flt)
    return MCPToolCallsResponse(tool_calls=[convert.mcp_tool_call(r) for r in rows], count=count)
