"""`/oauth2/authorize`: the browser side of the authorization code flow (no CORS, on purpose).

GET validates the request and shows the consent page to the signed-in user (a signed-out one is
sent to /login and back); POST is the user's decision, with a CSRF token bound to their session.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from devplane.api.deps import AnonCtx, State, Transaction, extract_token
from devplane.api.oauth2_http import OFF_HTML, provider_config, rate_limit, require_provider
from devplane.api.oauth2_pages import consent_page, error_page
from devplane.authz.authorizer import ANONYMOUS, Subject
from devplane.db.rows import APIKeyRow, UserRow
from devplane.errors import DomainError
from devplane.services import auth
from devplane.services.context import RequestContext
from devplane.services.oauth2_authorize import AuthorizeRedirect, AuthorizeRequest, redirect_to, validate
from devplane.services.oauth2_common import LOGIN_TYPE, OAuth2Error
from devplane.services.oauth2_grants import CodeRequest, issue_code

router = APIRouter(tags=["OAuth2 provider"], dependencies=[Depends(require_provider)])
_NO_STORE = {"Cache-Control": "no-store"}


async def _session(request: Request, tx: Transaction) -> tuple[UserRow, APIKeyRow] | None:
    token = extract_token(request)
    if token is None:
        return None
    try:
        user, key = await auth.authenticate(tx.store(ANONYMOUS), token)
    except DomainError:
        return None
    # An OAuth access token is for the gateway only: it cannot approve more grants.
    return None if key.login_type == LOGIN_TYPE else (user, key)


def _login_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=302, headers=_NO_STORE)


def _csrf(key: APIKeyRow, req: AuthorizeRequest) -> str:
    # Bound to this session (its secret's hash never leaves the server) and to this request.
    message = f"oauth2-consent|{req.app.id}|{req.redirect_uri}|{req.code_challenge}".encode()
    return hmac.new(key.hashed_secret, message, hashlib.sha256).hexdigest()


def _redirect_error(exc: AuthorizeRedirect, issuer: str) -> RedirectResponse:
    params = {"error": exc.error, "error_description": exc.description, "state": exc.state, "iss": issuer}
    return RedirectResponse(redirect_to(exc.redirect_uri, params), status_code=302, headers=_NO_STORE)


async def _validated(request: Request, state: State, tx: Transaction) -> AuthorizeRequest | Response:
    try:
        rate_limit(request, state, "authorize")
        return await validate(tx.store(ANONYMOUS), provider_config(state), dict(request.query_params))
    except OAuth2Error as exc:
        return error_page(exc.status, exc.error, exc.description)
    except AuthorizeRedirect as exc:
        return _redirect_error(exc, state.settings.effective_access_url)


@router.get(
    "/oauth2/authorize",
    summary="OAuth2 authorization endpoint: the consent page",
    response_class=HTMLResponse,
    responses={
        200: {"description": "The consent page, or a local error page; else a 302 to /login or the client"},
        **OFF_HTML,
    },
)
async def authorize_page(request: Request, state: State, tx: Transaction) -> Response:
    session = await _session(request, tx)
    if session is None:
        return _login_redirect(request)
    req = await _validated(request, state, tx)
    if isinstance(req, Response):
        return req
    user, key = session
    action = request.url.path + f"?{request.url.query}"
    return consent_page(req, username=user.username, email=user.email, action=action, csrf_token=_csrf(key, req))


@router.post(
    "/oauth2/authorize",
    summary="OAuth2 authorization endpoint: the user's decision",
    response_class=HTMLResponse,
    responses={200: {"description": "A local error page; success is a 302 to the client's redirect_uri"}, **OFF_HTML},
)
async def authorize_decide(request: Request, state: State, tx: Transaction, ctx: AnonCtx) -> Response:
    session = await _session(request, tx)
    if session is None:
        return _login_redirect(request)
    req = await _validated(request, state, tx)
    if isinstance(req, Response):
        return req
    user, key = session
    form = await request.form()
    csrf = form.get("csrf_token")
    if not isinstance(csrf, str) or not hmac.compare_digest(csrf, _csrf(key, req)):
        return error_page(403, "access_denied", "The consent form expired or did not come from this page.")
    issuer = state.settings.effective_access_url
    if form.get("decision") != "allow":
        denied = AuthorizeRedirect(req.redirect_uri, "access_denied", "The user denied the request.", req.state)
        return _redirect_error(denied, issuer)
    actor = Subject(user_id=user.id, roles=user.roles)
    user_ctx = RequestContext(ctx.request_id, ctx.ip, ctx.user_agent, user.id, user.username)
    code = await issue_code(
        tx.store(actor),
        user_ctx,
        CodeRequest(req.app, user.id, req.redirect_uri, req.resource, req.code_challenge, req.scope),
    )
    location = redirect_to(req.redirect_uri, {"code": code, "state": req.state, "iss": issuer})
    return RedirectResponse(location, status_code=302, headers=_NO_STORE)
