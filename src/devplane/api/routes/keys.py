"""API keys: create (shown once), list (never secrets), revoke."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi import status as http

from devplane.api import convert
from devplane.api.deps import Ctx, CurrentAuth, State, UserStore
from devplane.api.errors import ERROR_RESPONSES
from devplane.errors import BadRequest, FieldError, NotFound
from devplane.sdk.users import APIKey, CreateAPIKeyRequest, CreateAPIKeyResponse
from devplane.services import audit, auth, users

router = APIRouter(prefix="/api/v2/users/{user}/keys", tags=["API keys"], responses=ERROR_RESPONSES)


@router.post("", status_code=http.HTTP_201_CREATED, summary="Create an API key")
async def create_key(
    user: str, body: CreateAPIKeyRequest, store: UserStore, ctx: Ctx, current: CurrentAuth, state: State
) -> CreateAPIKeyResponse:
    owner = await users.resolve(store, current.user.id, user)
    lifetime = body.lifetime_seconds or auth.DEFAULT_API_KEY_LIFETIME
    limit = state.settings.max_api_key_lifetime_seconds
    if lifetime > limit:
        raise BadRequest(
            "Lifetime too long.",
            validations=[FieldError("lifetime_seconds", f"At most {limit} seconds on this deployment.")],
        )
    token, row = await auth.issue_key(
        store, owner.id, login_type=auth.LOGIN_TYPE_TOKEN, lifetime_seconds=lifetime, name=body.name
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
    return CreateAPIKeyResponse(key=token)


@router.get("", summary="List a user's API keys (metadata only)")
async def list_keys(user: str, store: UserStore, current: CurrentAuth) -> list[APIKey]:
    owner = await users.resolve(store, current.user.id, user)
    return [convert.api_key(k) for k in await store.list_api_keys_by_user_id(owner.id, auth.LOGIN_TYPE_TOKEN)]


@router.delete("/{key_id}", status_code=http.HTTP_204_NO_CONTENT, summary="Revoke an API key")
async def delete_key(user: str, key_id: str, store: UserStore, ctx: Ctx, current: CurrentAuth) -> None:
    owner = await users.resolve(store, current.user.id, user)
    key = await store.get_api_key_by_id(key_id)
    if key.user_id != owner.id:
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
