"""API keys a user creates for themselves (the web UI's account page; the same rules and audit
entries as api/routes/keys.py)."""

from __future__ import annotations

from devplane.db.rows import APIKeyRow, UserRow
from devplane.db.store import Store
from devplane.errors import BadRequest, FieldError, NotFound
from devplane.services import audit, auth
from devplane.services.context import RequestContext


async def create(
    store: Store, ctx: RequestContext, owner: UserRow, *, name: str, lifetime_seconds: int, max_lifetime: int
) -> tuple[str, APIKeyRow]:
    if lifetime_seconds > max_lifetime:
        raise BadRequest(
            "Lifetime too long.",
            validations=[FieldError("lifetime_seconds", f"At most {max_lifetime} seconds on this deployment.")],
        )
    token, row = await auth.issue_key(
        store, owner.id, login_type=auth.LOGIN_TYPE_TOKEN, lifetime_seconds=lifetime_seconds, name=name
    )
    await audit.record(
        store,
        ctx,
        action="create",
        resource_type="api_key",
        resource_id=row.id,
        target=owner.username,
        status_code=201,
        changes=audit.diff(None, {"name": row.name, "lifetime_seconds": row.lifetime_seconds}),
    )
    return token, row


async def revoke(store: Store, ctx: RequestContext, owner: UserRow, key_id: str) -> None:
    key = await store.get_api_key_by_id(key_id)
    if key.user_id != owner.id or key.login_type != auth.LOGIN_TYPE_TOKEN:
        raise NotFound("API key not found.")
    await store.delete_api_key(key_id)
    await audit.record(
        store,
        ctx,
        action="delete",
        resource_type="api_key",
        resource_id=key_id,
        target=owner.username,
        status_code=204,
        changes=audit.diff({"name": key.name}, None),
    )
