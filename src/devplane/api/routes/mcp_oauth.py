"""Per-user OAuth2 for MCP servers (experiment `agents`): connect, callback, disconnect.

The callback is opened by the user's browser (a popup or a tab), so every answer it gives,
including a signed-out 401 and a malformed id, is a small HTML page with a strict CSP, never the
JSON envelope. The experiment gate stays the JSON 403 every experimental route gives.

Callback and disconnect call the provider, so they hold no request transaction: the caller is
authenticated in a short transaction of its own and the service opens short ones around the
provider call (services/mcp_oauth.py says why).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi import status as http
from fastapi.responses import HTMLResponse, RedirectResponse

from devplane.api import oauth_pages
from devplane.api.deps import (
    AnonCtx,
    Auth,
    BriefAuth,
    CurrentAuth,
    State,
    UserStore,
    authenticate_briefly,
    require_experiment,
)
from devplane.api.errors import ERROR_RESPONSES
from devplane.errors import BadRequest, DomainError
from devplane.services import mcp_oauth
from devplane.services.context import RequestContext
from devplane.services.mcp_oauth_protocol import origin_of

router = APIRouter(
    prefix="/api/experimental/mcp/servers",
    tags=["MCP servers"],
    responses=ERROR_RESPONSES,
    dependencies=[require_experiment("agents")],
)

# The callback answers HTML pages, errors included; FastAPI would document the router's envelope
# models under the route's media type (text/html), so every status is spelled out here and the
# JSON 403 of the experiment gate gets its envelope under application/json.
_HTML: dict[str, Any] = {"content": {"text/html": {"schema": {"type": "string"}}}}
_CALLBACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {**_HTML, "description": "Connected (HTML page); it notifies the opener and closes."},
    400: {
        **_HTML,
        "description": "HTML error page: provider error, missing code, malformed server id, or an "
        "invalid, expired or used state.",
    },
    401: {**_HTML, "description": "HTML error page: not signed in."},
    403: {
        # The envelope's component, which the router's ERROR_RESPONSES put in the document.
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Response"}}},
        "description": "The `agents` experiment is off (the JSON error envelope, like every experimental route).",
    },
    404: {**_HTML, "description": "HTML error page: unknown MCP server, or not visible to you."},
    502: {**_HTML, "description": "HTML error page: the provider did not exchange the code for a token."},
    503: {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Response"}}},
        "description": "The database is unavailable (the JSON error envelope, with Retry-After).",
    },
}


@router.get(
    "/{server_id}/oauth2/connect",
    status_code=http.HTTP_307_TEMPORARY_REDIRECT,
    response_class=RedirectResponse,
    summary="Start connecting your account to an OAuth2 MCP server (redirects to the provider)",
    responses={307: {"description": "Redirect to the provider's authorization endpoint."}},
)
async def connect(server_id: uuid.UUID, store: UserStore, current: CurrentAuth, app: State) -> RedirectResponse:
    url = await mcp_oauth.start_connect(store, current.user.id, server_id, app.settings.effective_access_url)
    return RedirectResponse(url, status_code=http.HTTP_307_TEMPORARY_REDIRECT, headers={"Cache-Control": "no-store"})


def _with_user(base: RequestContext, current: Auth) -> RequestContext:
    return RequestContext(
        request_id=base.request_id,
        ip=base.ip,
        user_agent=base.user_agent,
        user_id=current.user.id,
        username=current.user.username,
    )


@router.get(
    "/{server_id}/oauth2/callback",
    response_class=HTMLResponse,
    summary="OAuth2 redirect target: exchanges the code and stores your token (HTML page)",
    responses=_CALLBACK_RESPONSES,
)
async def callback(
    server_id: str,
    request: Request,
    app: State,
    base_ctx: AnonCtx,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> HTMLResponse:
    try:
        try:
            config_id = uuid.UUID(server_id)
        except ValueError:
            raise BadRequest("Invalid MCP server id.") from None
        # Authenticated here rather than as a dependency, so a signed-out browser gets a page.
        current = await authenticate_briefly(request, app)
        params = mcp_oauth.CallbackParams(code=code, state=state, error=error, error_description=error_description)
        config = await mcp_oauth.handle_callback(
            app.db, current.actor, _with_user(base_ctx, current), current.user.id, config_id, params
        )
    except DomainError as exc:
        # The service's transactions already rolled back what a refusal must not keep (the state
        # of another user) and kept what it must (a state spent on a failed exchange).
        return oauth_pages.error_page(exc)
    return oauth_pages.success_page(config.id, config.display_name, origin_of(app.settings.effective_access_url))


@router.delete(
    "/{server_id}/oauth2/disconnect",
    status_code=http.HTTP_204_NO_CONTENT,
    summary="Disconnect your account: revoke at the provider when possible, delete the token",
)
async def disconnect(server_id: uuid.UUID, current: BriefAuth, base_ctx: AnonCtx, app: State) -> None:
    await mcp_oauth.disconnect(app.db, current.actor, _with_user(base_ctx, current), current.user.id, server_id)
