"""/admin/mcp-servers: list, new, edit, enable/disable, delete, live health and Test connection.

Reads and writes go through `services.mcp_configs` with the viewer's store, exactly like
api/routes/mcp.py; the health and test fragments wait on upstreams, so like
api/routes/mcp_runtime.py they hold no transaction (identity from the token cache)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from devplane.api.deps import State
from devplane.errors import DomainError, NotFound
from devplane.mcp.errors import MCPRuntimeError
from devplane.mcp.naming import tool_allowed
from devplane.mcp.runtime import MCPRuntime
from devplane.sdk.mcp import MCPServerConfig
from devplane.services import mcp_configs
from devplane.services import mcp_runtime as svc
from devplane.web import mcp_form
from devplane.web.forms import FormError, from_domain, from_validation, read_form
from devplane.web.session import CachedViewer, PageViewer, Viewer
from devplane.web.templating import render

router = APIRouter(prefix="/admin/mcp-servers", include_in_schema=False)
STATUS_LABELS = {
    "connected": "Connected",
    "auth_required": "Auth required",
    "timeout": "Timeout",
    "error": "Error",
    "no_tools": "No tools",
}


def _admin(viewer: Viewer) -> None:
    # Pages a user may not use do not exist for them (and have no link).
    if not viewer.is_mcp_admin:
        raise NotFound("Page not found.")


def _writer(viewer: Viewer) -> None:
    if not viewer.can_write_mcp:
        raise NotFound("Page not found.")


async def _view(viewer: Viewer, config_id: uuid.UUID) -> MCPServerConfig:
    row = await mcp_configs.get_visible(viewer.store, config_id)
    return (await mcp_configs.views(viewer.store, viewer.user.id, [row]))[0]


@router.get("")
async def list_page(request: Request, viewer: PageViewer) -> Response:
    _admin(viewer)
    configs = await mcp_configs.views(viewer.store, viewer.user.id, await mcp_configs.list_visible(viewer.store))
    configs.sort(key=lambda c: c.display_name.lower())
    return render(request, "mcp_list.html", viewer, servers=configs)


def _form(request: Request, viewer: Viewer, config: MCPServerConfig | None, **extra: Any) -> Response:
    form = extra.pop("posted", None)
    error: FormError | None = extra.pop("form_error", None)
    return render(
        request,
        "mcp_form.html",
        viewer,
        status=error.status if error else 200,
        config=config,
        v=mcp_form.shown(config, form),
        availability=mcp_form.AVAILABILITY,
        auth_types=mcp_form.AUTH_TYPES,
        errors=error.fields if error else {},
        form_error=error,
        saved=bool(request.query_params.get("saved")) and error is None,
    )


@router.get("/new")
async def new_page(request: Request, viewer: PageViewer) -> Response:
    _writer(viewer)
    return _form(request, viewer, None)


@router.post("/new")
async def create(request: Request, viewer: PageViewer) -> Response:
    _writer(viewer)
    form = await read_form(request)
    try:
        data = mcp_form.values(form, form.get("tool_allow_list", ""), form.get("tool_deny_list", ""), creating=True)
        row = await mcp_configs.create(viewer.store, viewer.ctx, mcp_form.create_request(data))
    except ValidationError as exc:
        return _form(request, viewer, None, posted=form, form_error=from_validation(exc))
    except DomainError as exc:
        await viewer.discard()
        return _form(request, viewer, None, posted=form, form_error=from_domain(exc))
    return RedirectResponse(f"/admin/mcp-servers/{row.id}?saved=1", status_code=303)


@router.get("/{config_id}")
async def edit_page(request: Request, config_id: uuid.UUID, viewer: PageViewer) -> Response:
    _admin(viewer)
    return _form(request, viewer, await _view(viewer, config_id))


@router.post("/{config_id}")
async def update(request: Request, config_id: uuid.UUID, viewer: PageViewer) -> Response:
    _writer(viewer)
    config = await _view(viewer, config_id)
    form = await read_form(request)
    try:
        data = mcp_form.values(form, form.get("tool_allow_list", ""), form.get("tool_deny_list", ""), creating=False)
        await mcp_configs.update(viewer.store, viewer.ctx, config_id, mcp_form.update_request(data))
    except ValidationError as exc:
        return _form(request, viewer, config, posted=form, form_error=from_validation(exc))
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        await viewer.discard()
        return _form(request, viewer, config, posted=form, form_error=from_domain(exc))
    return RedirectResponse(f"/admin/mcp-servers/{config_id}?saved=1", status_code=303)


@router.post("/{config_id}/enabled")
async def set_enabled(request: Request, config_id: uuid.UUID, viewer: PageViewer) -> Response:
    _writer(viewer)
    form = await read_form(request)
    body = mcp_form.update_request({"enabled": form.get("enabled") == "on"})
    await mcp_configs.update(viewer.store, viewer.ctx, config_id, body)
    return RedirectResponse("/admin/mcp-servers", status_code=303)


@router.post("/{config_id}/delete")
async def delete(config_id: uuid.UUID, viewer: PageViewer) -> Response:
    _writer(viewer)
    await mcp_configs.delete(viewer.store, viewer.ctx, config_id)
    return RedirectResponse("/admin/mcp-servers", status_code=303)


def _runtime(state: State) -> MCPRuntime:
    runtime: MCPRuntime = state.extras["mcp"]
    return runtime


@router.get("/{config_id}/health")
async def health(request: Request, config_id: uuid.UUID, viewer: CachedViewer, state: State) -> Response:
    config = await svc.read_config_as_admin(state.db, viewer.actor, config_id)
    status = await _runtime(state).server_status(viewer.user_id, config, False)
    return render(request, "_health.html", status=200, s=status, label=STATUS_LABELS.get(status.status, status.status))


@router.get("/{config_id}/test")
async def test_connection(request: Request, config_id: uuid.UUID, viewer: CachedViewer, state: State) -> Response:
    config = await svc.read_config_as_admin(state.db, viewer.actor, config_id)
    rt = _runtime(state)
    status = await rt.server_status(viewer.user_id, config, True)
    tools: list[tuple[str, str, bool]] = []
    if status.status in ("connected", "no_tools"):
        try:
            raw = await rt.raw_tools(viewer.user_id, config)
        except MCPRuntimeError:
            raw = []
        for t in raw:
            name = str(t.get("name", ""))
            allowed = tool_allowed(name, config.tool_allow_list, config.tool_deny_list)
            tools.append((name, str(t.get("description") or ""), allowed))
    return render(
        request,
        "_test_result.html",
        s=status,
        label=STATUS_LABELS.get(status.status, status.status),
        tools=tools,
        config_id=config_id,
        oauth2=config.auth_type == "oauth2",
    )
