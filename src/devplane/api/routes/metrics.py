"""Prometheus metrics (owners and auditors)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from devplane.api.deps import CachedIdentity, State
from devplane.api.errors import ERROR_RESPONSES
from devplane.mcp.calllog import ToolCallLog
from devplane.mcp.metrics import CONTENT_TYPE, MCPMetrics
from devplane.mcp.runtime import MCPRuntime
from devplane.services import mcp_metrics

router = APIRouter(tags=["General"])

# The success body is text/plain, and FastAPI would document `model` error responses under the
# route's media type; errors are our JSON envelope, so name it under application/json directly.
_JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {
        "description": spec["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Response"}}},
    }
    for code, spec in ERROR_RESPONSES.items()
}


@router.get(
    "/api/v2/metrics",
    response_class=PlainTextResponse,
    responses=_JSON_ERRORS,
    summary="Prometheus metrics: MCP tool calls, errors, latency, pool sessions (owners, auditors)",
    description=(
        "Prometheus text format 0.0.4. Needs a token with deployment_config read: give the scraper "
        "the API key of a user with the auditor role, sent as `Authorization: Bearer <key>`. "
        "Counters are per replica: scrape every replica."
    ),
)
async def metrics(me: CachedIdentity, state: State) -> PlainTextResponse:
    # The token cache, not a request transaction: a scrape every few seconds costs no DB round trip.
    mcp_metrics.require_reader(me.actor)
    runtime: MCPRuntime = state.extras["mcp"]
    registry: MCPMetrics = state.extras["mcp_metrics"]
    calls: ToolCallLog = state.extras["tool_call_log"]
    text = registry.render(sessions_open=runtime.pool.open_sessions, dropped=calls.dropped)
    return PlainTextResponse(text, media_type=CONTENT_TYPE)
