"""Users, first-user set-up, login and logout."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi import status as http

from devplane.api import convert
from devplane.api.deps import AnonCtx, AnonStore, Ctx, CurrentAuth, State, UserStore
from devplane.api.errors import ERROR_RESPONSES
from devplane.authz.authorizer import Object
from devplane.authz.policy import Action, Resource
from devplane.db.store import Store
from devplane.errors import NotFound
from devplane.sdk.errors import Response as Envelope
from devplane.sdk.users import (
    CreateFirstUserRequest,
    CreateUserRequest,
    LoginRequest,
    LoginResponse,
    UpdateRolesRequest,
    UpdateUserRequest,
    User,
)
from devplane.services import auth, users

router = APIRouter(prefix="/api/v2/users", tags=["Users"], responses=ERROR_RESPONSES)


def _show(store: Store, row_id: object, me: object) -> bool:
    return row_id == me or users.can(store, Action.READ_PERSONAL, Object(Resource.USER, owner_id=row_id))  # type: ignore[arg-type]


@router.get("/first", summary="Whether the first user exists (200) or not (404)")
async def get_first_user(store: AnonStore) -> Envelope:
    if not await users.first_user_exists(store):
        raise NotFound("The first user has not been created.")
    return Envelope(message="The first user has already been created.")


@router.post(
    "/first",
    status_code=http.HTTP_201_CREATED,
    summary="Create the first user (an owner)",
    responses={409: {"model": Envelope}},
)
async def create_first_user(body: CreateFirstUserRequest, store: AnonStore, ctx: AnonCtx) -> User:
    row = await users.create_first_user(store, ctx, email=body.email, username=body.username, password=body.password)
    return convert.user(row, show_email=True)


@router.post(
    "/login",
    status_code=http.HTTP_201_CREATED,
    summary="Log in with email and password",
    responses={429: {"model": Envelope}},
)
async def login(
    body: LoginRequest, request: Request, response: Response, store: AnonStore, ctx: AnonCtx, state: State
) -> LoginResponse:
    request.state.commit_on_error = True  # keep the failed-login audit entry
    token, _ = await auth.login(
        store,
        ctx,
        state.login_limiter,
        email=body.email,
        password=body.password,
        session_seconds=state.settings.session_duration_seconds,
    )
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=state.settings.session_duration_seconds,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
        path="/",
    )
    return LoginResponse(session_token=token)


@router.post("/logout", summary="Delete the presented session or API key")
async def logout(response: Response, current: CurrentAuth, store: UserStore, ctx: Ctx, state: State) -> Envelope:
    await auth.logout(store, ctx, current.key)
    response.delete_cookie(
        auth.SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=state.settings.secure_cookies
    )
    return Envelope(message="Logged out.")


@router.get("", summary="List users you may read")
async def list_users(store: UserStore, current: CurrentAuth) -> list[User]:
    rows = await store.list_users()
    return [convert.user(r, show_email=_show(store, r.id, current.user.id)) for r in rows]


@router.post(
    "",
    status_code=http.HTTP_201_CREATED,
    summary="Create a user (owner or user-admin)",
    responses={409: {"model": Envelope}},
)
async def create_user(body: CreateUserRequest, store: UserStore, ctx: Ctx) -> User:
    row = await users.create_user(
        store,
        ctx,
        email=body.email,
        username=body.username,
        password=body.password,
        roles=[r.value for r in body.roles],
    )
    return convert.user(row, show_email=True)


@router.get("/{user}", summary="Get a user by id, username or `me`")
async def get_user(user: str, store: UserStore, current: CurrentAuth) -> User:
    row = await users.resolve(store, current.user.id, user)
    return convert.user(row, show_email=_show(store, row.id, current.user.id))


@router.patch(
    "/{user}",
    summary="Update username, email, password or status",
    responses={409: {"model": Envelope, "description": "The username or email is taken."}},
)
async def update_user(user: str, body: UpdateUserRequest, store: UserStore, ctx: Ctx, current: CurrentAuth) -> User:
    row = await users.resolve(store, current.user.id, user)
    row = await users.update_user(
        store,
        ctx,
        row,
        username=body.username,
        email=body.email,
        password=body.password,
        old_password=body.old_password,
        status=body.status.value if body.status else None,
    )
    return convert.user(row, show_email=_show(store, row.id, current.user.id))


@router.delete("/{user}", status_code=http.HTTP_204_NO_CONTENT, summary="Delete a user")
async def delete_user(user: str, store: UserStore, ctx: Ctx, current: CurrentAuth) -> None:
    row = await users.resolve(store, current.user.id, user)
    await users.delete_user(store, ctx, row)


@router.put("/{user}/roles", summary="Replace a user's roles")
async def update_roles(user: str, body: UpdateRolesRequest, store: UserStore, ctx: Ctx, current: CurrentAuth) -> User:
    row = await users.resolve(store, current.user.id, user)
    row = await users.set_roles(store, ctx, row, [r.value for r in body.roles])
    return convert.user(row, show_email=True)
