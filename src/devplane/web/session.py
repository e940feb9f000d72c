"""Who is looking at a page: the HttpOnly session cookie only (pages never take a bearer token),
resolved by the same `services.auth.authenticate` as the JSON API, with the same actor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from devplane.api.deps import State, Transaction, request_context
from devplane.authz.authorizer import ANONYMOUS, Object, Subject
from devplane.authz.policy import Action, Resource
from devplane.db.database import Tx
from devplane.db.rows import APIKeyRow, UserRow
from devplane.db.store import Store
from devplane.errors import Forbidden, Unauthorized
from devplane.services import auth, mcp_configs, users
from devplane.services.context import RequestContext
from devplane.web import security


class LoginRequired(Exception):
    """Rendered as a redirect to /login?next=<this page> (HX-Redirect for htmx requests)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def next_of(request: Request) -> str:
    path = request.url.path
    if request.method == "GET" and request.url.query:
        path += "?" + request.url.query
    return path


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


@dataclass(frozen=True)
class Viewer:
    user: UserRow
    key: APIKeyRow
    actor: Subject
    ctx: RequestContext
    session_token: str
    store: Store
    is_mcp_admin: bool
    can_write_mcp: bool
    can_admin_users: bool
    can_read_audit: bool
    agents: bool  # the `agents` experiment: MCP servers, chats and connections exist only with it
    tx: Tx

    async def discard(self) -> None:
        """Roll back a write the service refused, so the page can re-render with fresh reads (a
        failed flush leaves the session unusable). The request's commit then commits nothing."""
        await self.tx.rollback()

    @property
    def csrf(self) -> str:
        return security.csrf_token(self.session_token)


def _session_token(request: Request) -> str:
    token = request.cookies.get(auth.SESSION_COOKIE)
    if not token:
        raise LoginRequired(next_of(request))
    return token


async def _check_csrf(request: Request, token: str, settings_access_url: str) -> None:
    if request.method not in security.UNSAFE:
        return
    if not security.request_origin_allowed(request.headers, settings_access_url):
        raise Forbidden("The request's Origin is not this site.")
    presented = request.headers.get(security.CSRF_HEADER, "")
    if not presented:
        form = await request.form()
        value = form.get(security.CSRF_FIELD, "")
        presented = value if isinstance(value, str) else ""
    if not presented or not security.csrf_valid(token, presented):
        raise Forbidden("The form has expired or did not come from this site. Reload the page and try again.")


async def page_viewer(request: Request, tx: Transaction, state: State) -> Viewer:
    token = _session_token(request)
    try:
        user, key = await auth.authenticate(tx.store(ANONYMOUS), token)
    except Unauthorized:
        raise LoginRequired(next_of(request)) from None
    await _check_csrf(request, token, state.settings.effective_access_url)
    actor = Subject(user_id=user.id, roles=user.roles)
    request.state.actor_username = user.username
    store = tx.store(actor)
    base = request_context(request, state)
    return Viewer(
        user=user,
        key=key,
        actor=actor,
        ctx=RequestContext(
            request_id=base.request_id,
            ip=base.ip,
            user_agent=base.user_agent,
            user_id=user.id,
            username=user.username,
        ),
        session_token=token,
        store=store,
        is_mcp_admin=mcp_configs.is_admin(store) and "agents" in state.settings.enabled_experiments,
        can_write_mcp=users.can(store, Action.UPDATE, mcp_configs.DEPLOYMENT),
        can_admin_users=users.can(store, Action.CREATE, Object(Resource.USER)),
        can_read_audit=users.can(store, Action.READ, Object(Resource.AUDIT_LOG)),
        agents="agents" in state.settings.enabled_experiments,
        tx=tx,
    )


PageViewer = Annotated[Viewer, Depends(page_viewer)]


@dataclass(frozen=True)
class BriefViewer:
    """For fragments that wait on an upstream: identity from the token cache, no transaction
    held (on SQLite a held transaction is the write lock; api/routes/mcp_runtime.py does the same)."""

    actor: Subject
    user_id: uuid.UUID
    ctx: RequestContext


async def brief_viewer(request: Request, state: State) -> BriefViewer:
    token = _session_token(request)
    try:
        identity = await state.extras["tokens"].identify(token)
    except Unauthorized:
        raise LoginRequired(next_of(request)) from None
    await _check_csrf(request, token, state.settings.effective_access_url)
    base = request_context(request, state)
    ctx = RequestContext(
        request_id=base.request_id,
        ip=base.ip,
        user_agent=base.user_agent,
        user_id=identity.actor.user_id,
        username=identity.username,
    )
    return BriefViewer(actor=identity.actor, user_id=identity.actor.user_id, ctx=ctx)


CachedViewer = Annotated[BriefViewer, Depends(brief_viewer)]
