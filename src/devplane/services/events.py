"""Change events for the MCP runtime's caches on every replica (transport: db/pubsub.py).

Publishers call these in the transaction that makes the change, so an event is seen only after
it commits. `handler_for` turns the events back into calls on a listener (the MCP runtime).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

from devplane.db.store import Store

log = structlog.get_logger(__name__)

CONFIG_CHANGED = "mcp_config_changed"
TOKEN_CHANGED = "mcp_token_changed"  # noqa: S105 - an event type, not a secret


async def config_changed(store: Store, config_id: uuid.UUID) -> None:
    """An MCP server config was created, updated or deleted."""
    await store.publish_event({"type": CONFIG_CHANGED, "config_id": str(config_id)})


async def token_changed(store: Store, config_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """A user's token for a config was stored, refreshed, marked failed or deleted."""
    await store.publish_event({"type": TOKEN_CHANGED, "config_id": str(config_id), "user_id": str(user_id)})


class ChangeListener(Protocol):
    async def config_changed(self, config_id: uuid.UUID) -> None: ...

    async def user_token_changed(self, config_id: uuid.UUID, user_id: uuid.UUID) -> None: ...


def handler_for(listener: ChangeListener) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """A pubsub handler that dispatches events by type; unknown types are someone else's."""

    async def handle(event: dict[str, Any]) -> None:
        kind = event.get("type")
        try:
            if kind == CONFIG_CHANGED:
                await listener.config_changed(uuid.UUID(event["config_id"]))
            elif kind == TOKEN_CHANGED:
                await listener.user_token_changed(uuid.UUID(event["config_id"]), uuid.UUID(event["user_id"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("events.malformed", type=str(kind))

    return handle
