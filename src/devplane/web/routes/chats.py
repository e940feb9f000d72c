"""/chats and /chats/{id}: the chat list, a new chat with the MCP picker, the transcript and the
message form (which can change the selection). The same services as api/routes/chats.py.

The live transcript comes from the chat loop's stream (`GET /api/experimental/chats/{id}/stream`,
events message_part, message, status, retry, error, queue_update, title_change); until a
server answers it, app.js says so and the page shows the committed messages on reload."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from devplane.errors import BadRequest, DomainError, FieldError, NotFound
from devplane.sdk.chats import Chat, CreateChatMessageRequest, CreateChatRequest
from devplane.sdk.mcp import MCPServerConfig
from devplane.services import chats, mcp_configs
from devplane.web.forms import FormError, from_domain, from_validation, read_form, read_multi
from devplane.web.session import PageViewer, Viewer
from devplane.web.templating import render

router = APIRouter(prefix="/chats", include_in_schema=False)
STREAM_EVENTS = ("message_part", "message", "status", "retry", "error", "queue_update", "title_change")


def _agents(viewer: Viewer) -> None:
    if not viewer.agents:
        raise NotFound("Page not found.")


async def _picker(viewer: Viewer, chat: Chat | None) -> list[dict[str, Any]]:
    rows = [r for r in await mcp_configs.list_visible(viewer.store) if r.enabled]
    configs: list[MCPServerConfig] = await mcp_configs.views(viewer.store, viewer.user.id, rows)
    picked = set(chat.mcp_server_ids) if chat else None
    out = []
    for c in sorted(configs, key=lambda c: c.display_name.lower()):
        forced = c.availability.value == "force_on"
        checked = forced or (c.id in picked if picked is not None else c.availability.value == "default_on")
        out.append(
            {
                "s": c,
                "forced": forced,
                "checked": checked,
                "needs_connect": c.auth_type.value == "oauth2" and not c.auth_connected,
            }
        )
    return out


async def _selection(request: Request) -> list[uuid.UUID] | None:
    if (await read_form(request)).get("picker") != "1":
        return None
    ids = []
    for raw in await read_multi(request, "mcp_server_ids"):
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    return ids


@router.get("")
async def list_page(request: Request, viewer: PageViewer) -> Response:
    _agents(viewer)
    rows = sorted(await viewer.store.list_chats_by_owner(viewer.user.id), key=lambda c: c.updated_at, reverse=True)
    return render(
        request, "chats.html", viewer, chats=rows, picker=await _picker(viewer, None), errors={}, form_error=None
    )


@router.post("")
async def create(request: Request, viewer: PageViewer) -> Response:
    _agents(viewer)
    form = await read_form(request)
    try:
        body = CreateChatRequest(title=form.get("title", ""), mcp_server_ids=await _selection(request))
        row = await chats.create(viewer.store, viewer.user.id, body)
    except (ValidationError, DomainError) as exc:
        error: FormError = from_validation(exc) if isinstance(exc, ValidationError) else from_domain(exc)
        await viewer.discard()
        rows = await viewer.store.list_chats_by_owner(viewer.user.id)
        return render(
            request,
            "chats.html",
            viewer,
            status=400,
            chats=rows,
            picker=await _picker(viewer, None),
            errors=error.fields,
            form_error=error,
        )
    return RedirectResponse(f"/chats/{row.id}", status_code=303)


@router.get("/{chat_id}")
async def chat_page(request: Request, chat_id: uuid.UUID, viewer: PageViewer) -> Response:
    _agents(viewer)
    chat = await chats.view(viewer.store, await viewer.store.get_chat_by_id(chat_id))
    messages = [chats.message_view(m) for m in await viewer.store.list_chat_messages(chat_id)]
    return render(
        request,
        "chat.html",
        viewer,
        chat=chat,
        messages=messages,
        # A tool call's result is stored in the next (tool) message; the call's block shows both.
        results={p.get("tool_call_id"): p for m in messages for p in m.content if p.get("type") == "tool-result"},
        picker=await _picker(viewer, chat),
        # Only what the page does not show yet: the stream would otherwise replay every committed
        # message, and each `message` event reloads the page.
        stream_url=f"/api/experimental/chats/{chat.id}/stream?after={max((m.seq for m in messages), default=0)}",
        stream_events=STREAM_EVENTS,
        errors={},
        form_error=None,
    )


@router.post("/{chat_id}/messages")
async def post_message(request: Request, chat_id: uuid.UUID, viewer: PageViewer) -> Response:
    _agents(viewer)
    form = await read_form(request)
    try:
        body = CreateChatMessageRequest(content=form.get("content", ""), mcp_server_ids=await _selection(request))
    except ValidationError as exc:
        error = from_validation(exc)
        raise BadRequest(
            "The message could not be sent.", validations=[FieldError(k, v) for k, v in error.fields.items()]
        ) from None
    await chats.post_message(viewer.store, chat_id, body)
    return RedirectResponse(f"/chats/{chat_id}", status_code=303)
