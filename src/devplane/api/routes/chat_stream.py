"""`GET /api/experimental/chats/{id}/stream`: a chat's events as Server-Sent Events.

No request transaction is held (a stream lives for minutes): the caller comes from the token cache
and each read uses a short read-only session. Heartbeat comments every 15 s keep proxies open.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from devplane.api.deps import CachedIdentity, State, require_experiment
from devplane.api.errors import ERROR_RESPONSES
from devplane.chat.hub import ChatHub
from devplane.services import chat_stream, mcp_runtime

router = APIRouter(
    prefix="/api/experimental/chats",
    tags=["Chats"],
    responses=ERROR_RESPONSES,
    dependencies=[require_experiment("agents")],
)


@router.get(
    "/{chat_id}/stream",
    summary="Stream a chat's events (SSE): committed messages, live parts, status, retries, errors",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "ChatStreamEvent per SSE event."}},
)
async def stream(
    chat_id: uuid.UUID,
    me: CachedIdentity,
    state: State,
    last_event_id: Annotated[str | None, Header(description="Resume after this event id.")] = None,
    after: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**31 - 1,
            description="Start after the committed message with this seq (what a page already shows); "
            "for clients such as a browser's EventSource that cannot set Last-Event-ID on the first "
            "request. Last-Event-ID, when sent, wins.",
        ),
    ] = None,
) -> Any:
    if last_event_id is None and after is not None:
        last_event_id = str(after)
    await mcp_runtime.read_chat(state.db, me.actor, chat_id)  # 404 for a chat you cannot read
    hub: ChatHub = state.extras["chat_hub"]

    async def body() -> AsyncIterator[ServerSentEvent]:
        async for event_id, event in chat_stream.events(state.db, hub, me.actor, chat_id, last_event_id):
            yield ServerSentEvent(data=event.model_dump_json(exclude_none=True), event=event.type, id=event_id)

    return EventSourceResponse(body(), ping=chat_stream.HEARTBEAT_SECONDS, headers={"Cache-Control": "no-store"})
