"""/account/tokens (create shown once, revoke with a confirm dialog) and /account/connections
(your OAuth2 accounts on MCP servers: connect in a popup, disconnect)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from devplane.api.deps import State
from devplane.errors import DomainError, NotFound
from devplane.services import api_keys, auth, mcp_configs, mcp_oauth
from devplane.web.forms import FormError, from_domain, read_form
from devplane.web.session import CachedViewer, PageViewer, Viewer
from devplane.web.templating import render

router = APIRouter(prefix="/account", include_in_schema=False)
LIFETIMES = ((1, "1 day"), (7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "1 year"))


async def _tokens(
    request: Request, viewer: Viewer, *, new_token: str = "", error: FormError | None = None, status: int = 200
) -> Response:
    keys = await viewer.store.list_api_keys_by_user_id(viewer.user.id, auth.LOGIN_TYPE_TOKEN)
    return render(
        request,
        "tokens.html",
        viewer,
        status=status,
        keys=sorted(keys, key=lambda k: k.created_at, reverse=True),
        lifetimes=LIFETIMES,
        new_token=new_token,
        errors=error.fields if error else {},
        form_error=error,
    )


@router.get("/tokens")
async def tokens_page(request: Request, viewer: PageViewer) -> Response:
    return await _tokens(request, viewer)


@router.post("/tokens")
async def create_token(request: Request, viewer: PageViewer, state: State) -> Response:
    form = await read_form(request)
    name = form.get("name", "").strip()[:64]
    days = int(form["lifetime_days"]) if form.get("lifetime_days", "").isdigit() else 30
    try:
        token, _ = await api_keys.create(
            viewer.store,
            viewer.ctx,
            viewer.user,
            name=name,
            lifetime_seconds=days * 86400,
            max_lifetime=state.settings.max_api_key_lifetime_seconds,
        )
    except DomainError as exc:
        await viewer.discard()
        error = from_domain(exc)
        if "lifetime_seconds" in error.fields:
            error.fields["lifetime_days"] = error.fields.pop("lifetime_seconds")
        return await _tokens(request, viewer, error=error, status=exc.status_code)
    # Shown in this answer only (no-store; never stored in plaintext, never shown again).
    return await _tokens(request, viewer, new_token=token, status=201)


@router.post("/tokens/{key_id}/revoke")
async def revoke_token(key_id: str, viewer: PageViewer) -> Response:
    await api_keys.revoke(viewer.store, viewer.ctx, viewer.user, key_id[:64])
    return RedirectResponse("/account/tokens", status_code=303)


@router.get("/connections")
async def connections_page(request: Request, viewer: PageViewer) -> Response:
    if not viewer.agents:
        raise NotFound("Page not found.")
    rows = [r for r in await mcp_configs.list_visible(viewer.store) if r.enabled and r.auth_type == "oauth2"]
    servers = sorted(await mcp_configs.views(viewer.store, viewer.user.id, rows), key=lambda c: c.display_name.lower())
    return render(request, "connections.html", viewer, servers=servers)


@router.post("/connections/{config_id}/disconnect")
async def disconnect(config_id: uuid.UUID, viewer: CachedViewer, state: State) -> Response:
    # Calls the provider (revocation), so no request transaction is held (services/mcp_oauth.py).
    await mcp_oauth.disconnect(state.db, viewer.actor, viewer.ctx, viewer.user_id, config_id)
    return RedirectResponse("/account/connections", status_code=303)
