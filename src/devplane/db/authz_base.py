"""Helpers shared by the authorization wrappers (coder's dbauthz): `_fetch`, `_filter`,
`_write`, `_site`, `_signed_in`, `_write_fetched`. Every AuthzStore method is one line over these."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import structlog

from devplane.authz.authorizer import Object, Subject, authorize
from devplane.authz.policy import Action, Resource
from devplane.db.store import Store
from devplane.errors import Forbidden, NotFound

log = structlog.get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R", bound="_HasObject")

SYSTEM = Object(Resource.SYSTEM)
AUDIT = Object(Resource.AUDIT_LOG)
DBCRYPT = Object(Resource.DBCRYPT_KEY)


class _HasObject(Protocol):
    def authz_object(self) -> Object: ...


def user_object(user_id: uuid.UUID) -> Object:
    return Object(Resource.USER, owner_id=user_id)


class AuthzBase:
    inner: Store
    actor: Subject

    # --- helpers -------------------------------------------------------------------------
    def can(self, action: Action, obj: Object) -> bool:
        return authorize(self.actor, action, obj)

    def _require(self, action: Action, obj: Object) -> None:
        if not self.can(action, obj):
            raise Forbidden(f"Not authorized to {action.value} {obj.resource.value}.")

    async def _fetch(self, fn: Callable[..., Awaitable[R]], *args: Any, **kw: Any) -> R:
        row = await fn(*args, **kw)
        if not self.can(Action.READ, row.authz_object()):
            raise NotFound()
        return row

    async def _filter(self, fn: Callable[..., Awaitable[list[R]]], *args: Any, **kw: Any) -> list[R]:
        return [r for r in await fn(*args, **kw) if self.can(Action.READ, r.authz_object())]

    async def _write(self, action: Action, obj: Object, fn: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
        if not self.can(action, obj):
            if obj.owner_id is not None and not self.can(Action.READ, obj):
                raise NotFound()
            raise Forbidden(f"Not authorized to {action.value} {obj.resource.value}.")
        return await fn(*args, **kw)

    async def _site(self, action: Action, obj: Object, fn: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
        self._require(action, obj)
        return await fn(*args, **kw)

    async def _signed_in(self, fn: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
        """Any signed-in user or the system may; anonymous callers may not."""
        if self.actor.user_id is None and not self.actor.is_system:
            raise Forbidden("You must be signed in.")
        return await fn(*args, **kw)

    async def _write_fetched(
        self,
        action: Action,
        fetch: Callable[[Any], Awaitable[_HasObject]],
        key: Any,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
    ) -> T:
        """Authorize a write against the object as stored (its real owner), then do it."""
        row = await fetch(key)
        return await self._write(action, row.authz_object(), fn, key, *args)
