"""API keys: create (shown once), list (never secrets), revoke."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi import status as http

from devplane.api import convert
from devplane.api.deps import Ctx, CurrentAuth, State, UserStore
from devplane.api.errors import ERROR_RESPONSES
from devplane.errors import NotFound
from devplane.sdk.users import APIKey, CreateAPIKeyRequest, CreateAPIKeyResponse
from devplane.services import api_keys, audit, auth, users

router = APIRouter(prefix="/api/v2/users/{user}/keys", tags=["API keys"], responses=ERROR_RESPONSES)


@router.post("", status_code=http.HTTP_201_CREATED, summary="Create an API key")
async def create_key(
    user: str, body: CreateAPIKeyRequest, store: UserStore, ctx: Ctx, current: CurrentAuth, state: State
) -> CreateAPIKeyResponse:
    owner = await users.resolve(store, current.user.id, user)
    token, _ = await api_keys.create(
        store,
        ctx,
        owner,
        name=body.name,
        lifetime_seconds=body.lifetime_seconds or auth.DEFAULT_API_KEY_LIFETIME,
        max_lifetime=state.settings.max_api_key_lifetime_seconds,
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
