"""OAuth2 clients: owners' apps and secrets, dynamic client registration (RFC 7591/7592), the
provider's stored settings, and the apps a user has authorized."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass

from devplane.crypto import oauth2_secrets
from devplane.db.oauth2_rows import (
    OAuth2ProviderAppRow,
    OAuth2ProviderAppSecretRow,
    OAuth2ProviderAppTokenRow,
    OAuth2ProviderSettingsRow,
)
from devplane.db.store import Store, row_dict
from devplane.errors import BadRequest, FieldError, NotFound
from devplane.services import audit
from devplane.services.context import RequestContext
from devplane.services.oauth2_common import AUTH_METHODS, OAuth2Error, load_app
from devplane.services.oauth2_urls import redirect_uri_problem

MAX_REDIRECT_URIS = 20
MAX_NAME = 200


@dataclass(frozen=True)
class AppSpec:
    name: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str


def validate_spec(spec: AppSpec) -> list[FieldError]:
    problems: list[FieldError] = []
    if not spec.name.strip() or len(spec.name) > MAX_NAME:
        problems.append(FieldError("name", f"must be 1 to {MAX_NAME} characters"))
    if not spec.redirect_uris or len(spec.redirect_uris) > MAX_REDIRECT_URIS:
        problems.append(FieldError("redirect_uris", f"must list 1 to {MAX_REDIRECT_URIS} URIs"))
    for i, uri in enumerate(spec.redirect_uris):
        problem = redirect_uri_problem(uri)
        if problem:
            problems.append(FieldError(f"redirect_uris[{i}]", problem))
    if spec.token_endpoint_auth_method not in AUTH_METHODS:
        problems.append(FieldError("token_endpoint_auth_method", f"must be one of {', '.join(AUTH_METHODS)}"))
    return problems


def _app_row(spec: AppSpec, *, dynamic: bool, registration_hash: bytes | None) -> OAuth2ProviderAppRow:
    now = dt.datetime.now(dt.UTC)
    return OAuth2ProviderAppRow(
        id=uuid.uuid4(),
        created_at=now,
        updated_at=now,
        name=spec.name.strip(),
        redirect_uris=spec.redirect_uris,
        token_endpoint_auth_method=spec.token_endpoint_auth_method,
        dynamically_registered=dynamic,
        registration_access_token_hash=registration_hash,
    )


async def _new_secret(store: Store, app_id: uuid.UUID) -> tuple[str, OAuth2ProviderAppSecretRow]:
    secret = oauth2_secrets.generate()
    row = await store.insert_oauth2_provider_app_secret(
        OAuth2ProviderAppSecretRow(
            id=uuid.uuid4(),
            app_id=app_id,
            created_at=dt.datetime.now(dt.UTC),
            secret_prefix=secret.prefix,
            hashed_secret=secret.hashed,
        )
    )
    return secret.formatted, row


def _audit_fields(app: OAuth2ProviderAppRow) -> dict[str, object]:
    values = row_dict(app)
    values.pop("registration_access_token_hash", None)
    return values


# --- owners ------------------------------------------------------------------------------------
async def create_app(store: Store, ctx: RequestContext, spec: AppSpec) -> OAuth2ProviderAppRow:
    problems = validate_spec(spec)
    if problems:
        raise BadRequest("Invalid OAuth2 app.", validations=problems)
    app = await store.insert_oauth2_provider_app(_app_row(spec, dynamic=False, registration_hash=None))
    await audit.record(
        store,
        ctx,
        action="create",
        resource_type="oauth2_provider_app",
        resource_id=app.id,
        target=app.name,
        status_code=201,
        changes=audit.diff(None, _audit_fields(app)),
    )
    return app


async def update_app(store: Store, ctx: RequestContext, app_id: uuid.UUID, spec: AppSpec) -> OAuth2ProviderAppRow:
    problems = validate_spec(spec)
    if problems:
        raise BadRequest("Invalid OAuth2 app.", validations=problems)
    old = await store.get_oauth2_provider_app_by_id(app_id)
    new = await store.update_oauth2_provider_app(
        dataclasses.replace(
            old,
            name=spec.name.strip(),
            redirect_uris=spec.redirect_uris,
            token_endpoint_auth_method=spec.token_endpoint_auth_method,
            updated_at=dt.datetime.now(dt.UTC),
        )
    )
    await audit.record(
        store,
        ctx,
        action="write",
        resource_type="oauth2_provider_app",
        resource_id=app_id,
        target=new.name,
        changes=audit.diff(_audit_fields(old), _audit_fields(new)),
    )
    return new


async def delete_app(store: Store, ctx: RequestContext, app_id: uuid.UUID) -> None:
    old = await store.get_oauth2_provider_app_by_id(app_id)
    await store.delete_oauth2_provider_app(app_id)
    await audit.record(
        store,
        ctx,
        action="delete",
        resource_type="oauth2_provider_app",
        resource_id=app_id,
        target=old.name,
        changes=audit.diff(_audit_fields(old), None),
    )


async def create_secret(store: Store, ctx: RequestContext, app_id: uuid.UUID) -> tuple[str, OAuth2ProviderAppSecretRow]:
    app = await store.get_oauth2_provider_app_by_id(app_id)
    secret, row = await _new_secret(store, app.id)
    await audit.record(
        store,
        ctx,
        action="create",
        resource_type="oauth2_provider_app_secret",
        resource_id=row.id,
        target=app.name,
        status_code=201,
        changes=audit.diff(None, {"app_id": app.id, "secret_prefix": row.secret_prefix}),
    )
    return secret, row


async def delete_secret(store: Store, ctx: RequestContext, app_id: uuid.UUID, secret_id: uuid.UUID) -> None:
    secrets = await store.list_oauth2_provider_app_secrets_by_app_id(app_id)
    match = next((s for s in secrets if s.id == secret_id), None)
    if match is None:
        raise NotFound("Client secret not found.")
    await store.delete_oauth2_provider_app_secret(secret_id)
    await audit.record(
        store,
        ctx,
        action="delete",
        resource_type="oauth2_provider_app_secret",
        resource_id=secret_id,
        target=str(app_id),
        changes=audit.diff({"secret_prefix": match.secret_prefix}, None),
    )


async def set_dynamic_registration(store: Store, ctx: RequestContext, enabled: bool) -> OAuth2ProviderSettingsRow:
    system_view = await store.as_system(reason="read OAuth2 settings to diff them").get_oauth2_provider_settings()
    row = await store.upsert_oauth2_provider_settings(
        OAuth2ProviderSettingsRow(dynamic_client_registration=enabled, updated_at=dt.datetime.now(dt.UTC))
    )
    await audit.record(
        store,
        ctx,
        action="write",
        resource_type="oauth2_provider_settings",
        target="dynamic_client_registration",
        changes=audit.diff(
            {"dynamic_client_registration": system_view.dynamic_client_registration},
            {"dynamic_client_registration": enabled},
        ),
    )
    return row


async def dynamic_registration_enabled(store: Store) -> bool:
    settings = await store.as_system(reason="read OAuth2 provider settings").get_oauth2_provider_settings()
    return settings.dynamic_client_registration


# --- dynamic client registration (RFC 7591 / 7592) -------------------------------------------
def _registration_error(problems: list[FieldError]) -> OAuth2Error:
    field = problems[0].field
    error = "invalid_redirect_uri" if field.startswith("redirect_uris") else "invalid_client_metadata"
    return OAuth2Error(error, "; ".join(f"{p.field} {p.detail}" for p in problems))


async def register(store: Store, ctx: RequestContext, spec: AppSpec) -> tuple[OAuth2ProviderAppRow, str, str | None]:
    """A self-registered app, its registration access token, and its secret (None for public clients)."""
    problems = validate_spec(spec)
    if problems:
        raise _registration_error(problems)
    system = store.as_system(reason="dynamic OAuth2 client registration")
    registration = oauth2_secrets.generate()
    app = await system.insert_oauth2_provider_app(_app_row(spec, dynamic=True, registration_hash=registration.hashed))
    secret = None if app.is_public else (await _new_secret(system, app.id))[0]
    await audit.record(
        store,
        ctx,
        action="register",
        resource_type="oauth2_provider_app",
        resource_id=app.id,
        target=app.name,
        status_code=201,
        changes=audit.diff(None, _audit_fields(app)),
    )
    return app, registration.formatted, secret


async def registered_app(store: Store, client_id: str, registration_token: str) -> OAuth2ProviderAppRow:
    """The self-registered app the registration access token is for; 401 invalid_token otherwise."""
    failure = OAuth2Error("invalid_token", "The registration access token is invalid.", 401)
    app = await load_app(store, client_id)
    parsed = oauth2_secrets.parse(registration_token)
    if app is None or parsed is None or app.registration_access_token_hash is None:
        raise failure
    if not oauth2_secrets.verify(parsed.secret, app.registration_access_token_hash):
        raise failure
    return app


async def update_registration(
    store: Store, ctx: RequestContext, app: OAuth2ProviderAppRow, spec: AppSpec
) -> OAuth2ProviderAppRow:
    problems = validate_spec(spec)
    if problems:
        raise _registration_error(problems)
    if spec.token_endpoint_auth_method != app.token_endpoint_auth_method:
        raise OAuth2Error("invalid_client_metadata", "token_endpoint_auth_method cannot change; register again.")
    return await update_app(store.as_system(reason="RFC 7592 client update"), ctx, app.id, spec)


async def delete_registration(store: Store, ctx: RequestContext, app: OAuth2ProviderAppRow) -> None:
    await delete_app(store.as_system(reason="RFC 7592 client delete"), ctx, app.id)


# --- a user's authorized apps ------------------------------------------------------------------
async def authorized_apps(
    store: Store, user_id: uuid.UUID
) -> list[tuple[OAuth2ProviderAppRow, list[OAuth2ProviderAppTokenRow]]]:
    grants: dict[uuid.UUID, list[OAuth2ProviderAppTokenRow]] = {}
    for token in await store.list_oauth2_provider_app_tokens_by_user_id(user_id):
        grants.setdefault(token.app_id, []).append(token)
    system = store.as_system(reason="name the apps a user authorized")
    return [(await system.get_oauth2_provider_app_by_id(app_id), rows) for app_id, rows in grants.items()]


async def revoke_app(store: Store, ctx: RequestContext, user_id: uuid.UUID, app_id: uuid.UUID) -> None:
    app = await store.as_system(reason="name the app a user revokes").get_oauth2_provider_app_by_id(app_id)
    count = await store.delete_oauth2_provider_app_grants(app_id, user_id)
    await audit.record(
        store,
        ctx,
        action="revoke",
        resource_type="oauth2_provider_app",
        resource_id=app_id,
        target=app.name,
        changes=audit.diff(None, {"tokens_revoked": count}),
    )
