"""Request dependencies: one transaction per request, the caller's identity, and the store
stack for that identity (built by `Tx.store`, i.e. db/database.py and db/stack.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from devplane.api.state import AppState
from devplane.authz.authorizer import ANONYMOUS, Subject
from devplane.db.database import Tx
from devplane.db.rows import APIKeyRow, UserRow
from devplane.db.store import Store
from devplane.errors import Forbidden, Unauthorized
from devplane.services import auth
from devplane.services.context import RequestContext

# Methods that must not change anything (RFC 9110 "safe"): their transaction is a reader.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.devplane
    return state


State = Annotated[AppState, Depends(app_state)]


async def db_tx(request: Request, state: State) -> AsyncIterator[Tx]:
    """One transaction per request, committed once when the route returns without error.

    `request.state.commit_on_error` lets a route keep writes made before it fails on purpose
    (a failed login's audit entry).
    """
    # Perf (issue 9): a request with a safe method reads in a deferred transaction, so on SQLite
    # it does not queue on the write lock; see docs/decisions/0009-request-transactions-and-outages.md.
    async with state.db.request_session(write=request.method not in SAFE_METHODS) as tx:
        try:
            yield tx
        except BaseException:
            if getattr(request.state, "commit_on_error", False):
                await tx.commit()
            else:
                await tx.rollback()
            raise
        else:
            await tx.commit()


Transaction = Annotated[Tx, Depends(db_tx, scope="function")]


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
            # The last entry is the address our proxy saw; earlier ones came from the client
            # (a proxy appends to what it received), so a client could pick them freely.
            return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else ""


# OAuth2 provider (issue 12): an OAuth access token is bound to the MCP gateway; the rest of
# the API refuses it (coder's open the whole API; ours do not).
def oauth2_token_refused() -> Unauthorized:
    return Unauthorized(
        "This token is for the MCP gateway only.", detail="Sign in, or use an API key, for the devplane API."
    )


# API key ids whose last-use stamp a read request is writing now (authenticate).
_STAMPING: set[str] = set()


@dataclass(frozen=True)
class Auth:
    user: UserRow
    key: APIKeyRow
    actor: Subject


async def authenticate(request: Request, tx: Transaction, state: State) -> Auth:
    token = extract_token(request)
    if token is None:
        raise Unauthorized(
            "You must be signed in.",
            detail=f"Send a token as 'Authorization: Bearer <token>' or the {auth.SESSION_HEADER} header.",
        )
    user, key = await auth.check(tx.store(ANONYMOUS), token)
    if key.oauth2_app_id is not None:
        raise oauth2_token_refused()
    now = dt.datetime.now(dt.UTC)
    if auth.touch_due(key, now):
        if tx.writer:
            await auth.touch(tx.store(ANONYMOUS), user, key, now)
        elif key.id not in _STAMPING:
            # A reader must not write (on SQLite it would have to upgrade its lock, which can
            # fail under concurrent writers): the once-a-minute stamp takes a transaction of its
            # own, one per key at a time (concurrent requests with the key skip it).
            _STAMPING.add(key.id)
            try:
                async with state.db.transaction() as stamp:
                    await auth.touch(stamp.store(ANONYMOUS), user, key, now)
            finally:
                _STAMPING.discard(key.id)
    actor = Subject(user_id=user.id, roles=user.roles)
    request.state.actor_username = user.username
    return Auth(user=user, key=key, actor=actor)


CurrentAuth = Annotated[Auth, Depends(authenticate)]


async def authenticate_briefly(request: Request, state: State) -> Auth:
    """`authenticate` in a short transaction of its own, for routes that then wait on something
    outside (an OAuth2 provider) and so must hold no request transaction: on SQLite a writing
    transaction is the database's write lock. Such routes take `state.db`, never `Transaction`."""
    async with state.db.transaction() as tx:
        return await authenticate(request, tx, state)


BriefAuth = Annotated[Auth, Depends(authenticate_briefly)]


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


def user_store(tx: Transaction, current: CurrentAuth) -> Store:
    return tx.store(current.actor)


def anonymous_store(tx: Transaction) -> Store:
    return tx.store(ANONYMOUS)


Ctx = Annotated[RequestContext, Depends(authed_context)]
AnonCtx = Annotated[RequestContext, Depends(request_context)]
UserStore = Annotated[Store, Depends(user_store)]
AnonStore = Annotated[Store, Depends(anonymous_store)]


def require_experiment(name: str) -> Any:
    async def check(state: State) -> None:
        if name not in state.settings.enabled_experiments:
            raise Forbidden(f"Experiment '{name}' is not enabled.")

    return Depends(check)


@dataclass(frozen=True)
class Identity:
    """The caller, from the short-lived token cache: for routes that must not hold a request
    transaction (MCP runtime routes wait on upstreams; on SQLite a held transaction is the lock)."""

    actor: Subject
    user_id: uuid.UUID
    username: str


async def cached_identity(request: Request, state: State) -> Identity:
    token = extract_token(request)
    if token is None:
        raise Unauthorized("You must be signed in.")
    identity = await state.extras["tokens"].identify(token)
    if identity.oauth2_app_id is not None:
        raise oauth2_token_refused()
    return Identity(actor=identity.actor, user_id=identity.actor.user_id, username=identity.username)


CachedIdentity = Annotated[Identity, Depends(cached_identity)]
