"""A valid access token for (user, MCP server), refreshed when it expires within 60 s.

For the MCP runtime, from background code: `await get_valid_access_token(state.db, user_id,
config_id)` opens its own transactions. The common case (token still valid) only reads, in a
read-only session; a refresh writes, so on SQLite (where a writing transaction takes the database
lock at BEGIN) it must not be awaited while the caller itself holds a writing transaction.

Exactly one refresh per (user, config), however many callers, and how the provider call (up to
10 s) meets transactions, per database:
- In this process, callers share one in-flight refresh (SingleFlight), on both databases.
- PostgreSQL (replicas): the refresh runs in one transaction holding the token's row lock
  (SELECT ... FOR UPDATE) *across the provider call*, and re-checks the expiry after taking it:
  a replica that waited finds the token another one refreshed and uses it. Decided on purpose:
  the provider rotates refresh tokens, so a second replica refreshing with the old one would be
  refused (`invalid_grant`) and some providers then revoke the whole token family; a row lock is
  the cheapest cross-replica single flight. It blocks only writers of that one row (another
  refresh of it, a disconnect, a reconnect's upsert, deleting its config) and costs one pooled
  connection for the length of the call; every other write proceeds.
- SQLite (one process; its pubsub is in-process too, so replicas need PostgreSQL): a writing
  transaction takes the whole database's write lock at BEGIN, so holding one across the
  provider call would stop every writer for up to 10 s. SingleFlight is the single flight there,
  and the refresh reads in a read-only session, calls the provider with no transaction open,
  then saves in a short transaction only if the row is still the one it refreshed: a reconnect,
  a disconnect or another writer in between wins, and its state is what the caller gets. (Two
  server processes on one SQLite file would each refresh: not a supported set-up.)
A rotated refresh token is saved (the old one kept when the provider sends none). A permanent
refusal (`invalid_grant`, `bad_refresh_token`) marks the token failed, which turns
`auth_connected` false, and raises AuthRequired; transient errors raise TokenRefreshFailed and
leave the token alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import structlog

from devplane.authz.authorizer import Subject
from devplane.db.database import Database
from devplane.db.mcp_rows import MCPServerConfigRow, MCPServerUserTokenRow
from devplane.db.store import Store
from devplane.errors import BadGateway, BadRequest, DomainError, NotFound
from devplane.services import events
from devplane.services import mcp_oauth_http as provider
from devplane.services.mcp_oauth_protocol import TokenSet

log = structlog.get_logger(__name__)

T = TypeVar("T")
REFRESH_LEEWAY = dt.timedelta(seconds=60)
NOT_CONNECTED = "Connect your account to this MCP server first."
RECONNECT = "Your authorization for this MCP server has expired or was revoked. Connect your account again."


class AuthRequired(DomainError):
    """The user has to (re)connect their account: no token, an expired one with nothing to refresh
    it with, or a refresh the provider refused for good."""

    status_code = 400
    default_message = NOT_CONNECTED

    def __init__(self, message: str, *, config_id: uuid.UUID, user_id: uuid.UUID) -> None:
        super().__init__(message, detail="Open the MCP server's connect link to authorize devplane again.")
        self.config_id = config_id
        self.user_id = user_id


class TokenRefreshFailed(BadGateway):
    """A transient refresh failure (network, 5xx, ...): the token is left as it was."""

    default_message = "Failed to refresh the MCP server's OAuth2 token."


@dataclass(frozen=True)
class AccessToken:
    token_type: str
    access_token: str = field(repr=False)
    expiry: dt.datetime | None

    @property
    def authorization(self) -> str:
        """The value of the Authorization header for the MCP server's requests."""
        return f"{self.token_type or 'Bearer'} {self.access_token}"


class SingleFlight:
    """One in-flight coroutine per key in this process; later callers await the same outcome."""

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[Any]] = {}

    def _forget(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled():
            task.exception()  # retrieved, so an outcome nobody awaited is not reported as lost

    async def do(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        task = self._tasks.get(key)
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(_await(fn))
            self._tasks[key] = task
            task.add_done_callback(lambda t: self._forget(key, t))
        # Shielded: one caller giving up (cancelled) does not cancel the refresh for the others.
        return cast(T, await asyncio.shield(task))


async def _await(fn: Callable[[], Awaitable[T]]) -> T:
    return await fn()


_FLIGHTS = SingleFlight()


def needs_refresh(token: MCPServerUserTokenRow, now: dt.datetime, leeway: dt.timedelta = REFRESH_LEEWAY) -> bool:
    return token.expiry is not None and token.expiry - leeway <= now


def _user(user_id: uuid.UUID) -> Subject:
    # The token's owner, with the implied member role: enough for their own token, nothing else.
    return Subject(user_id=user_id, roles=())


def _usable(token: MCPServerUserTokenRow) -> AccessToken:
    if token.refresh_failure_reason or not token.access_token:
        raise AuthRequired(RECONNECT, config_id=token.mcp_server_config_id, user_id=token.user_id)
    return AccessToken(token_type=token.token_type, access_token=token.access_token, expiry=token.expiry)


async def _read(db: Database, user_id: uuid.UUID, config_id: uuid.UUID) -> MCPServerUserTokenRow:
    # A read-only session: on SQLite it does not wait for the write lock, so the common case (a
    # valid token) never queues behind other writers.
    async with db.read_session() as tx:
        try:
            return await tx.store(_user(user_id)).get_mcp_server_user_token(config_id, user_id)
        except NotFound:
            raise AuthRequired(NOT_CONNECTED, config_id=config_id, user_id=user_id) from None


@dataclass(frozen=True)
class _Refresh:
    """A token that needs refreshing, and the config to refresh it with."""

    config: MCPServerConfigRow
    token: MCPServerUserTokenRow


async def _plan(
    store: Store, user_id: uuid.UUID, config_id: uuid.UUID, leeway: dt.timedelta, *, lock: bool
) -> AccessToken | _Refresh:
    """The token when it is still good (re-checked: another caller may have refreshed it), else
    what to refresh. `lock` takes the token's row lock until the transaction ends."""
    config = await store.as_system(
        reason="read an MCP server config to refresh an OAuth2 token"
    ).get_mcp_server_config_by_id(config_id)
    if config.auth_type != "oauth2":
        raise BadRequest("MCP server does not use OAuth2 authentication.")
    try:
        token = await store.get_mcp_server_user_token(config_id, user_id, for_update=lock)
    except NotFound:
        raise AuthRequired(NOT_CONNECTED, config_id=config_id, user_id=user_id) from None
    current = _usable(token)
    now = dt.datetime.now(dt.UTC)
    if not needs_refresh(token, now, leeway):
        return current  # another caller refreshed it while we waited
    if not token.refresh_token or not config.oauth2_token_url:
        if token.expiry is not None and token.expiry > now:
            return current  # nothing to refresh with, but still good for a few seconds
        raise AuthRequired(RECONNECT, config_id=config_id, user_id=user_id)
    return _Refresh(config=config, token=token)


async def _call_provider(plan: _Refresh) -> TokenSet | provider.TokenEndpointError:
    """The provider's new tokens, or its permanent refusal; a transient failure raises."""
    config, token = plan.config, plan.token
    try:
        return await provider.refresh(
            token_url=config.oauth2_token_url,
            client_id=config.oauth2_client_id,
            client_secret=config.oauth2_client_secret,
            refresh_token=token.refresh_token,
            resource=config.url,
        )
    except provider.TokenEndpointError as exc:
        log.warning(
            "mcp_oauth.refresh_failed",
            config_id=str(config.id),
            user_id=str(token.user_id),
            reason=exc.reason,
            status=exc.status,
            error_code=exc.code,
            permanent=exc.permanent,
        )
        if not exc.permanent:
            raise TokenRefreshFailed() from None
        return exc


async def _save(
    store: Store, token: MCPServerUserTokenRow, outcome: TokenSet | provider.TokenEndpointError
) -> AccessToken | AuthRequired:
    """Store the refreshed tokens, or mark the token failed. A returned AuthRequired is raised by
    the caller after the commit, so the failure mark is kept."""
    config_id, user_id = token.mcp_server_config_id, token.user_id
    if isinstance(outcome, provider.TokenEndpointError):
        reason = f"The provider refused the refresh token ({outcome.code})."
        await store.mark_mcp_server_user_token_refresh_failure(config_id, user_id, reason)
        await events.token_changed(store, config_id, user_id)
        return AuthRequired(RECONNECT, config_id=config_id, user_id=user_id)
    stored = await store.update_mcp_server_user_token_from_refresh(
        dataclasses.replace(
            token,
            access_token=outcome.access_token,
            refresh_token=outcome.refresh_token or token.refresh_token,
            token_type=outcome.token_type,
            expiry=outcome.expiry,
            updated_at=dt.datetime.now(dt.UTC),
        )
    )
    await events.token_changed(store, config_id, user_id)
    return _usable(stored)


def _version(token: MCPServerUserTokenRow) -> tuple[object, ...]:
    """What an unlocked refresh must find unchanged before it saves over the row."""
    return (token.id, token.access_token, token.refresh_token, token.refresh_failure_reason)


async def _refresh_row_locked(
    db: Database, user_id: uuid.UUID, config_id: uuid.UUID, leeway: dt.timedelta
) -> AccessToken | AuthRequired:
    """PostgreSQL: one transaction, the token's row lock held across the provider call (see the
    module docstring for why that is the right trade there and not on SQLite)."""
    async with db.transaction() as tx:
        store = tx.store(_user(user_id))
        plan = await _plan(store, user_id, config_id, leeway, lock=True)
        if isinstance(plan, AccessToken):
            return plan
        return await _save(store, plan.token, await _call_provider(plan))


async def _refresh_unlocked(
    db: Database, user_id: uuid.UUID, config_id: uuid.UUID, leeway: dt.timedelta
) -> AccessToken | AuthRequired:
    """SQLite: no transaction open during the provider call; save only over the row we read."""
    async with db.read_session() as tx:
        plan = await _plan(tx.store(_user(user_id)), user_id, config_id, leeway, lock=False)
    if isinstance(plan, AccessToken):
        return plan
    outcome = await _call_provider(plan)
    # A writing transaction: on SQLite it holds the write lock from BEGIN, so nothing changes the
    # row between this read and our save.
    async with db.transaction() as tx:
        store = tx.store(_user(user_id))
        try:
            current = await store.get_mcp_server_user_token(config_id, user_id)
        except NotFound:
            raise AuthRequired(NOT_CONNECTED, config_id=config_id, user_id=user_id) from None  # disconnected
        if _version(current) != _version(plan.token):
            # Written while we asked the provider (a reconnect, say): that write wins over ours,
            # and a refusal of the refresh token it replaced means nothing.
            return _usable(current)
        return await _save(store, current, outcome)


async def _refresh(db: Database, user_id: uuid.UUID, config_id: uuid.UUID, leeway: dt.timedelta) -> AccessToken:
    if db.dialect == "postgresql":
        outcome = await _refresh_row_locked(db, user_id, config_id, leeway)
    else:
        outcome = await _refresh_unlocked(db, user_id, config_id, leeway)
    if isinstance(outcome, AuthRequired):
        raise outcome
    return outcome


async def get_valid_access_token(
    db: Database,
    user_id: uuid.UUID,
    config_id: uuid.UUID,
    *,
    leeway: dt.timedelta = REFRESH_LEEWAY,
    flights: SingleFlight | None = None,
) -> AccessToken:
    """The user's access token for the config, refreshed first when it expires within `leeway`.

    Raises AuthRequired (no token, including for an unknown config, or the user must connect
    again), TokenRefreshFailed (transient; retry later), or BadRequest (not an oauth2 config).
    `flights` is for tests that simulate replicas; leave it out otherwise.
    """
    token = await _read(db, user_id, config_id)
    current = _usable(token)
    if not needs_refresh(token, dt.datetime.now(dt.UTC), leeway):
        return current
    group = _FLIGHTS if flights is None else flights
    return await group.do((user_id, config_id), lambda: _refresh(db, user_id, config_id, leeway))
