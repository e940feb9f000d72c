"""Request dependencies. The store stack is built here, in one place:
`CryptStore(AuthzStore(SqlStore(session), actor))`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from devplane.api.state import AppState
from devplane.authz.authorizer import ANONYMOUS, Subject
from devplane.db import crypt_store
from devplane.db.authz_store import AuthzStore
from devplane.db.rows import APIKeyRow, UserRow
from devplane.db.sql_store import SqlStore
from devplane.db.store import Store
from devplane.errors import Forbidden, Unauthorized
from devplane.services import auth
from devplane.services.context import RequestContext


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.devplane
    return state


State = Annotated[AppState, Depends(app_state)]


async def db_session(request: Request, state: State) -> AsyncIterator[AsyncSession]:
    """One session per request, committed once when the route returns without error.

    `request.state.commit_on_error` lets a route keep writes made before it fails on purpose
    (a failed login's audit entry).
    """
    async with state.session_factory() as session:
        try:
            yield session
        except BaseException:
            if getattr(request.state, "commit_on_error", False):
                await session.commit()
            else:
                await session.rollback()
            raise
        else:
            await session.commit()


Session = Annotated[AsyncSession, Depends(db_session, scope="function")]


def build_store(session: AsyncSession, actor: Subject, state: AppState) -> Store:
    return crypt_store.wrap(AuthzStore(SqlStore(session), actor), state.keyring)


def extract_token(request: Request) -> str | None:
    """Header first (Authorization: Bearer, then Devplane-Session-Token), cookie last."""
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    header = request.headers.get(auth.SESSION_HEADER)
    if header:
        return header.strip()
    return request.cookies.get(auth.SESSION_COOKIE) or None


def client_ip(request: Request, state: AppState) -> str:
    if state.settings.trusted_proxies:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else ""


@dataclass(frozen=True)
class Auth:
    user: UserRow
    key: APIKeyRow
    actor: Subject


async def authenticate(request: Request, session: Session, state: State) -> Auth:
    token = extract_token(request)
    if token is None:
        raise Unauthorized(
            "You must be signed in.",
            detail=f"Send a token as 'Authorization: Bearer <token>' or the {auth.SESSION_HEADER} header.",
        )
    user, key = await auth.authenticate(build_store(session, ANONYMOUS, state), token)
    actor = Subject(user_id=user.id, roles=user.roles)
    request.state.actor_username = user.username
    return Auth(user=user, key=key, actor=actor)


CurrentAuth = Annotated[Auth, Depends(authenticate)]


def request_context(request: Request, state: State) -> RequestContext:
    user_id = None
    username = getattr(request.state, "actor_username", "")
    return RequestContext(
        request_id=getattr(request.state, "request_id", ""),
        ip=client_ip(request, state),
        user_agent=request.headers.get("user-agent", ""),
        user_id=user_id,
        username=username,
    )


def authed_context(request: Request, current: CurrentAuth, state: State) -> RequestContext:
    base = request_context(request, state)
    return RequestContext(
        request_id=base.request_id,
        ip=base.ip,
        user_agent=base.user_agent,
        user_id=current.user.id,
        username=current.user.username,
    )


def user_store(session: Session, current: CurrentAuth, state: State) -> Store:
    return build_store(session, current.actor, state)


def anonymous_store(session: Session, state: State) -> Store:
    return build_store(session, ANONYMOUS, state)


Ctx = Annotated[RequestContext, Depends(authed_context)]
AnonCtx = Annotated[RequestContext, Depends(request_context)]
UserStore = Annotated[Store, Depends(user_store)]
AnonStore = Annotated[Store, Depends(anonymous_store)]


def require_experiment(name: str) -> object:
    async def check(state: State) -> None:
        if name not in state.settings.enabled_experiments:
            raise Forbidden(f"Experiment '{name}' is not enabled.")

    return Depends(check)
