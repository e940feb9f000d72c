"""The OAuth2 provider's protocol endpoints: metadata (RFC 8414, RFC 9728), token, revocation
(RFC 7009) and dynamic client registration (RFC 7591/7592). Mounted only when
DEVPLANE_OAUTH2_PROVIDER_ENABLE is set. Answers are OAuth JSON, with CORS (browser clients)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from devplane.api.deps import AnonCtx, State, Transaction
from devplane.api.oauth2_http import (
    AS_METADATA_PATH,
    CORS_HEADERS,
    GATEWAY_PATH,
    OAUTH_ERRORS,
    OFF,
    PRM_PATH,
    add_preflight,
    client_credentials,
    oauth_error,
    oauth_json,
    provider_config,
    rate_limit,
    read_form,
    require_provider,
)
from devplane.authz.authorizer import ANONYMOUS
from devplane.db.oauth2_rows import OAuth2ProviderAppRow
from devplane.sdk.oauth2 import (
    AuthorizationServerMetadata,
    OAuth2ClientRegistration,
    OAuth2ErrorBody,
    OAuth2TokenResponse,
    ProtectedResourceMetadata,
)
from devplane.services import oauth2_apps, oauth2_grants
from devplane.services.oauth2_common import AUTH_METHODS, SCOPES, OAuth2Error, authenticate_client

router = APIRouter(tags=["OAuth2 provider"], dependencies=[Depends(require_provider)])
MAX_JSON = 64 * 1024


def _metadata(state: State, dcr: bool) -> AuthorizationServerMetadata:
    issuer = state.settings.effective_access_url
    return AuthorizationServerMetadata(
        issuer=issuer,
        authorization_endpoint=f"{issuer}/oauth2/authorize",
        token_endpoint=f"{issuer}/oauth2/token",
        revocation_endpoint=f"{issuer}/oauth2/revoke",
        registration_endpoint=f"{issuer}/oauth2/register" if dcr else None,
        response_types_supported=["code"],
        grant_types_supported=["authorization_code", "refresh_token"],
        code_challenge_methods_supported=["S256"],
        token_endpoint_auth_methods_supported=list(AUTH_METHODS),
        revocation_endpoint_auth_methods_supported=list(AUTH_METHODS),
        scopes_supported=list(SCOPES),
        authorization_response_iss_parameter_supported=True,
    )


@router.get(
    AS_METADATA_PATH,
    summary="OAuth2 authorization server metadata (RFC 8414)",
    responses={200: {"model": AuthorizationServerMetadata}, **OFF},
)
async def as_metadata(state: State, tx: Transaction) -> JSONResponse:
    dcr = await oauth2_apps.dynamic_registration_enabled(tx.store(ANONYMOUS))
    body = _metadata(state, dcr).model_dump(exclude_none=True)
    return JSONResponse(body, headers=CORS_HEADERS)


def _prm(state: State) -> JSONResponse:
    config = provider_config(state)
    body = ProtectedResourceMetadata(
        resource=config.resource,
        authorization_servers=[config.issuer],
        scopes_supported=list(SCOPES),
        bearer_methods_supported=["header"],
        resource_name="devplane MCP gateway",
    )
    return JSONResponse(body.model_dump(), headers=CORS_HEADERS)


@router.get(
    PRM_PATH + GATEWAY_PATH,
    summary="Protected resource metadata of the MCP gateway (RFC 9728)",
    responses={200: {"model": ProtectedResourceMetadata}, **OFF},
)
async def gateway_resource_metadata(state: State) -> JSONResponse:
    return _prm(state)


@router.get(
    PRM_PATH,
    summary="Protected resource metadata at the root (RFC 9728; some clients look here)",
    responses={200: {"model": ProtectedResourceMetadata}, **OFF},
)
async def root_resource_metadata(state: State) -> JSONResponse:
    return _prm(state)


for _path in (AS_METADATA_PATH, PRM_PATH, PRM_PATH + GATEWAY_PATH):
    add_preflight(router, _path, "GET, OPTIONS")
for _path in ("/oauth2/token", "/oauth2/revoke", "/oauth2/register"):
    add_preflight(router, _path, "POST, OPTIONS")
add_preflight(router, "/oauth2/clients/{client_id}", "GET, PUT, DELETE, OPTIONS")


@router.post(
    "/oauth2/token",
    summary="OAuth2 token endpoint (authorization_code, refresh_token)",
    responses={200: {"model": OAuth2TokenResponse}, **OAUTH_ERRORS},
)
async def token(request: Request, state: State, tx: Transaction, ctx: AnonCtx) -> JSONResponse:
    # Errors are answered, not raised: the request transaction then commits, which keeps a
    # burned code, a revoked family and their audit entries.
    store = tx.store(ANONYMOUS)
    config = provider_config(state)
    try:
        rate_limit(request, state, "token")
        form = await read_form(request)
        app = await authenticate_client(store, client_credentials(request, form))
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            if not form.get("code") or not form.get("code_verifier"):
                raise OAuth2Error("invalid_request", "code and code_verifier are required.")
            body = await oauth2_grants.exchange_code(
                store,
                ctx,
                config,
                app,
                code=form["code"],
                code_verifier=form["code_verifier"],
                redirect_uri=form.get("redirect_uri"),
                resource=form.get("resource"),
            )
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise OAuth2Error("invalid_request", "refresh_token is required.")
            body = await oauth2_grants.refresh(
                store, ctx, config, app, refresh_token=form["refresh_token"], resource=form.get("resource")
            )
        else:
            raise OAuth2Error("unsupported_grant_type", "Supported: authorization_code, refresh_token.")
    except OAuth2Error as exc:
        return oauth_error(exc)
    return oauth_json(body)


@router.post(
    "/oauth2/revoke",
    summary="OAuth2 token revocation (RFC 7009)",
    responses={200: {"model": dict[str, str], "description": "Always {} (RFC 7009 §2.2)"}, **OAUTH_ERRORS},
)
async def revoke(request: Request, state: State, tx: Transaction, ctx: AnonCtx) -> JSONResponse:
    store = tx.store(ANONYMOUS)
    try:
        rate_limit(request, state, "revoke")
        form = await read_form(request)
        app = await authenticate_client(store, client_credentials(request, form))
        if not form.get("token"):
            raise OAuth2Error("invalid_request", "token is required.")
        await oauth2_grants.revoke(store, ctx, app, form["token"])
    except OAuth2Error as exc:
        return oauth_error(exc)
    return oauth_json({})


# --- dynamic client registration ---------------------------------------------------------------
def _spec(body: Any, *, default_method: str) -> oauth2_apps.AppSpec:
    if not isinstance(body, dict):
        raise OAuth2Error("invalid_client_metadata", "The body must be a JSON object.")
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise OAuth2Error("invalid_redirect_uri", "redirect_uris must be a list of strings.")
    name = body.get("client_name")
    method = body.get("token_endpoint_auth_method", default_method)
    grants = body.get("grant_types", ["authorization_code"])
    if not isinstance(grants, list) or "authorization_code" not in grants:
        raise OAuth2Error("invalid_client_metadata", "grant_types must include authorization_code.")
    # Unknown metadata (application_type, logo_uri, software_id, client_name#ja, ...) is ignored (RFC 7591 §2).
    return oauth2_apps.AppSpec(
        name=name if isinstance(name, str) and name.strip() else "Unnamed MCP client",
        redirect_uris=tuple(uris),
        token_endpoint_auth_method=method if isinstance(method, str) else "",
    )


async def _json(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_JSON:
        raise OAuth2Error("invalid_client_metadata", "The registration document is too large.")
    try:
        return json.loads(raw)
    except ValueError:
        raise OAuth2Error("invalid_client_metadata", "The body must be JSON.") from None


def _registration(
    state: State, app: OAuth2ProviderAppRow, *, registration_token: str | None, secret: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": str(app.id),
        "client_id_issued_at": int(app.created_at.timestamp()),
        "client_name": app.name,
        "redirect_uris": list(app.redirect_uris),
        "token_endpoint_auth_method": app.token_endpoint_auth_method,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": " ".join(SCOPES),
        "registration_client_uri": f"{state.settings.effective_access_url}/oauth2/clients/{app.id}",
    }
    if registration_token is not None:
        body["registration_access_token"] = registration_token
    if secret is not None:
        body["client_secret"] = secret
        body["client_secret_expires_at"] = 0
    return body


@router.post(
    "/oauth2/register",
    status_code=201,
    summary="Dynamic client registration (RFC 7591), when switched on",
    responses={201: {"model": OAuth2ClientRegistration}, 403: {"model": OAuth2ErrorBody}, **OAUTH_ERRORS},
)
async def register(request: Request, state: State, tx: Transaction, ctx: AnonCtx) -> JSONResponse:
    store = tx.store(ANONYMOUS)
    try:
        rate_limit(request, state, "register")
        if not await oauth2_apps.dynamic_registration_enabled(store):
            raise OAuth2Error("access_denied", "Dynamic client registration is switched off on this server.", 403)
        spec = _spec(await _json(request), default_method="client_secret_basic")
        app, registration_token, secret = await oauth2_apps.register(store, ctx, spec)
    except OAuth2Error as exc:
        return oauth_error(exc)
    return oauth_json(_registration(state, app, registration_token=registration_token, secret=secret), 201)


def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@router.get(
    "/oauth2/clients/{client_id}",
    summary="Read a self-registered client (RFC 7592)",
    responses={200: {"model": OAuth2ClientRegistration}, **OAUTH_ERRORS},
)
async def read_client(client_id: str, request: Request, state: State, tx: Transaction) -> JSONResponse:
    try:
        rate_limit(request, state, "clients")
        app = await oauth2_apps.registered_app(tx.store(ANONYMOUS), client_id, _bearer(request))
    except OAuth2Error as exc:
        return oauth_error(exc)
    return oauth_json(_registration(state, app, registration_token=None, secret=None))


@router.put(
    "/oauth2/clients/{client_id}",
    summary="Update a self-registered client (RFC 7592)",
    responses={200: {"model": OAuth2ClientRegistration}, **OAUTH_ERRORS},
)
async def update_client(client_id: str, request: Request, state: State, tx: Transaction, ctx: AnonCtx) -> JSONResponse:
    store = tx.store(ANONYMOUS)
    try:
        rate_limit(request, state, "clients")
        app = await oauth2_apps.registered_app(store, client_id, _bearer(request))
        spec = _spec(await _json(request), default_method=app.token_endpoint_auth_method)
        app = await oauth2_apps.update_registration(store, ctx, app, spec)
    except OAuth2Error as exc:
        return oauth_error(exc)
    return oauth_json(_registration(state, app, registration_token=None, secret=None))


@router.delete(
    "/oauth2/clients/{client_id}",
    status_code=204,
    summary="Delete a self-registered client (RFC 7592)",
    responses=OAUTH_ERRORS,
)
async def delete_client(client_id: str, request: Request, state: State, tx: Transaction, ctx: AnonCtx) -> Response:
    store = tx.store(ANONYMOUS)
    try:
        rate_limit(request, state, "clients")
        app = await oauth2_apps.registered_app(store, client_id, _bearer(request))
        await oauth2_apps.delete_registration(store, ctx, app)
    except OAuth2Error as exc:
        return oauth_error(exc)
    return Response(status_code=204, headers={**CORS_HEADERS, "Cache-Control": "no-store"})
