"""First-user setup, sign in and sign out: the same services as /api/v2/users/{first,login,logout}."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from devplane.api.deps import AnonCtx, AnonStore, State, Transaction
from devplane.errors import DomainError, Forbidden
from devplane.sdk.users import CreateFirstUserRequest, LoginRequest
from devplane.services import auth, users
from devplane.web import security
from devplane.web.forms import FormError, from_domain, from_validation, read_form, safe_next
from devplane.web.session import PageViewer
from devplane.web.templating import render

router = APIRouter(include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _check_origin(request: Request, state: State) -> None:
    # Signed-out forms have no session to derive a token from; Origin guards them (login CSRF).
    if not security.request_origin_allowed(request.headers, state.settings.effective_access_url):
        raise Forbidden("The request's Origin is not this site.")


@router.get("/")
async def home(state: State) -> Response:
    # Chats exist only with the `agents` experiment; without it the account page is home.
    return _see_other("/chats" if "agents" in state.settings.enabled_experiments else "/account/tokens")


@router.get("/setup")
async def setup_page(request: Request, store: AnonStore) -> Response:
    if await users.first_user_exists(store):
        return _see_other("/login")
    return render(request, "setup.html", values={"username": "", "email": ""}, errors={}, form_error=None)


@router.post("/setup")
async def setup_submit(request: Request, tx: Transaction, store: AnonStore, ctx: AnonCtx, state: State) -> Response:
    _check_origin(request, state)
    if await users.first_user_exists(store):
        return _see_other("/login")
    form = await read_form(request)
    values = {"username": form.get("username", ""), "email": form.get("email", "")}
    try:
        body = CreateFirstUserRequest(
            username=values["username"], email=values["email"], password=form.get("password", "")
        )
        await users.create_first_user(store, ctx, email=body.email, username=body.username, password=body.password)
    except ValidationError as exc:
        error = from_validation(exc)
    except DomainError as exc:
        await tx.rollback()
        error = from_domain(exc)
    else:
        return _see_other("/login")
    return render(request, "setup.html", status=400, values=values, errors=error.fields, form_error=error)


@router.get("/login")
async def login_page(request: Request, store: AnonStore, next: str = "") -> Response:
    if not await users.first_user_exists(store):
        return _see_other("/setup")
    return render(request, "login.html", next=safe_next(next), values={"email": ""}, errors={}, form_error=None)


@router.post("/login")
async def login_submit(request: Request, tx: Transaction, store: AnonStore, ctx: AnonCtx, state: State) -> Response:
    _check_origin(request, state)
    form = await read_form(request)
    target = safe_next(form.get("next"))
    values = {"email": form.get("email", "")}
    try:
        body = LoginRequest(email=values["email"], password=form.get("password", ""))
        token, _ = await auth.login(
            store,
            ctx,
            state.login_limiter,
            email=body.email,
            password=body.password,
            session_seconds=state.settings.session_duration_seconds,
        )
    except ValidationError as exc:
        error: FormError = from_validation(exc)
        status = 400
    except DomainError as exc:
        await tx.commit()  # keep the failed-login audit entry, as the JSON route does
        error, status = from_domain(exc), exc.status_code
    else:
        response = _see_other(target)
        response.set_cookie(
            auth.SESSION_COOKIE,
            token,
            max_age=state.settings.session_duration_seconds,
            httponly=True,
            samesite="lax",
            secure=state.settings.secure_cookies,
            path="/",
        )
        return response
    return render(
        request, "login.html", status=status, next=target, values=values, errors=error.fields, form_error=error
    )


@router.post("/logout")
async def logout(viewer: PageViewer, state: State) -> Response:
    await auth.logout(viewer.store, viewer.ctx, viewer.key)
    response = _see_other("/login")
    response.delete_cookie(
        auth.SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=state.settings.secure_cookies
    )
    return response
