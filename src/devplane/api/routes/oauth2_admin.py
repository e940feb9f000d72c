"""The OAuth2 provider's management API: the DCR switch and apps/secrets (owners), and the apps
a user has authorized (the user)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi import status as http

from devplane.api.deps import Ctx, CurrentAuth, UserStore
from devplane.api.errors import ERROR_RESPONSES
from devplane.db.oauth2_rows import OAuth2ProviderAppRow, OAuth2ProviderAppSecretRow
from devplane.sdk.oauth2 import (
    AuthorizedOAuth2App,
    CreateOAuth2AppRequest,
    CreateOAuth2AppSecretResponse,
    OAuth2App,
    OAuth2AppSecret,
    OAuth2ProviderSettings,
    UpdateOAuth2ProviderSettingsRequest,
)
from devplane.services import oauth2_apps

router = APIRouter(prefix="/api/v2", tags=["OAuth2 provider"], responses=ERROR_RESPONSES)


def _app(row: OAuth2ProviderAppRow) -> OAuth2App:
    return OAuth2App(
        id=row.id,
        name=row.name,
        redirect_uris=list(row.redirect_uris),
        token_endpoint_auth_method=row.token_endpoint_auth_method,
        dynamically_registered=row.dynamically_registered,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _secret(row: OAuth2ProviderAppSecretRow) -> OAuth2AppSecret:
    return OAuth2AppSecret(id=row.id, app_id=row.app_id, secret_prefix=row.secret_prefix, created_at=row.created_at)


def _spec(body: CreateOAuth2AppRequest) -> oauth2_apps.AppSpec:
    return oauth2_apps.AppSpec(body.name, tuple(body.redirect_uris), body.token_endpoint_auth_method)


@router.get("/oauth2-provider/settings", summary="Read the OAuth2 provider's settings")
async def get_settings(store: UserStore) -> OAuth2ProviderSettings:
    row = await store.get_oauth2_provider_settings()
    return OAuth2ProviderSettings(dynamic_client_registration=row.dynamic_client_registration)


@router.put("/oauth2-provider/settings", summary="Change the OAuth2 provider's settings (owners)")
async def put_settings(body: UpdateOAuth2ProviderSettingsRequest, store: UserStore, ctx: Ctx) -> OAuth2ProviderSettings:
    row = await oauth2_apps.set_dynamic_registration(store, ctx, body.dynamic_client_registration)
    return OAuth2ProviderSettings(dynamic_client_registration=row.dynamic_client_registration)


@router.get("/oauth2-provider/apps", summary="List OAuth2 apps")
async def list_apps(store: UserStore) -> list[OAuth2App]:
    return [_app(r) for r in await store.list_oauth2_provider_apps()]


@router.post("/oauth2-provider/apps", status_code=http.HTTP_201_CREATED, summary="Register an OAuth2 app (owners)")
async def create_app(body: CreateOAuth2AppRequest, store: UserStore, ctx: Ctx) -> OAuth2App:
    return _app(await oauth2_apps.create_app(store, ctx, _spec(body)))


@router.get("/oauth2-provider/apps/{app_id}", summary="Read an OAuth2 app")
async def get_app(app_id: uuid.UUID, store: UserStore) -> OAuth2App:
    return _app(await store.get_oauth2_provider_app_by_id(app_id))


@router.put("/oauth2-provider/apps/{app_id}", summary="Update an OAuth2 app (owners)")
async def update_app(app_id: uuid.UUID, body: CreateOAuth2AppRequest, store: UserStore, ctx: Ctx) -> OAuth2App:
    return _app(await oauth2_apps.update_app(store, ctx, app_id, _spec(body)))


@router.delete(
    "/oauth2-provider/apps/{app_id}",
    status_code=http.HTTP_204_NO_CONTENT,
    summary="Delete an OAuth2 app and every token issued to it (owners)",
)
async def delete_app(app_id: uuid.UUID, store: UserStore, ctx: Ctx) -> None:
    await oauth2_apps.delete_app(store, ctx, app_id)


@router.get("/oauth2-provider/apps/{app_id}/secrets", summary="List an OAuth2 app's client secrets (no values)")
async def list_secrets(app_id: uuid.UUID, store: UserStore) -> list[OAuth2AppSecret]:
    await store.get_oauth2_provider_app_by_id(app_id)
    return [_secret(r) for r in await store.list_oauth2_provider_app_secrets_by_app_id(app_id)]


@router.post(
    "/oauth2-provider/apps/{app_id}/secrets",
    status_code=http.HTTP_201_CREATED,
    summary="Create a client secret (shown once; owners)",
)
async def create_secret(app_id: uuid.UUID, store: UserStore, ctx: Ctx) -> CreateOAuth2AppSecretResponse:
    value, row = await oauth2_apps.create_secret(store, ctx, app_id)
    return CreateOAuth2AppSecretResponse(secret=_secret(row), client_secret=value)


@router.delete(
    "/oauth2-provider/apps/{app_id}/secrets/{secret_id}",
    status_code=http.HTTP_204_NO_CONTENT,
    summary="Delete a client secret (owners)",
)
async def delete_secret(app_id: uuid.UUID, secret_id: uuid.UUID, store: UserStore, ctx: Ctx) -> None:
    await oauth2_apps.delete_secret(store, ctx, app_id, secret_id)


@router.get("/users/me/oauth2-apps", summary="List the OAuth2 apps you authorized")
async def my_apps(store: UserStore, current: CurrentAuth) -> list[AuthorizedOAuth2App]:
    out = []
    for app, tokens in await oauth2_apps.authorized_apps(store, current.user.id):
        out.append(
            AuthorizedOAuth2App(
                app_id=app.id,
                name=app.name,
                dynamically_registered=app.dynamically_registered,
                scopes=sorted({s for t in tokens for s in t.scope.split()}),
                audiences=sorted({t.audience for t in tokens}),
                last_authorized_at=max(t.created_at for t in tokens),
            )
        )
    return out


@router.delete(
    "/users/me/oauth2-apps/{app_id}",
    status_code=http.HTTP_204_NO_CONTENT,
    summary="Revoke an app you authorized (all its tokens)",
)
async def revoke_my_app(app_id: uuid.UUID, store: UserStore, ctx: Ctx, current: CurrentAuth) -> None:
    await oauth2_apps.revoke_app(store, ctx, current.user.id, app_id)
