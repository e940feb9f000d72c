"""Sessions and API keys: issuing, authenticating and revoking `<id>-<secret>` tokens."""

from __future__ import annotations

import datetime as dt
import uuid

from devplane.crypto import tokens
from devplane.crypto.passwords import verify_password_async
from devplane.db.rows import APIKeyRow, UserRow
from devplane.db.store import Store
from devplane.errors import NotFound, TooManyRequests, Unauthorized
from devplane.services import audit
from devplane.services.context import RequestContext
from devplane.services.ratelimit import RateLimiter

SESSION_COOKIE = "devplane_session_token"
SESSION_HEADER = "Devplane-Session-Token"
LOGIN_TYPE_PASSWORD = "password"  # noqa: S105 - a login type name, not a password
LOGIN_TYPE_TOKEN = "token"  # noqa: S105 - a login type name, not a token
DEFAULT_API_KEY_LIFETIME = 30 * 24 * 3600
# last_used_at is bumped at most this often, so reads don't turn every request into a write.
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


async def issue_key(
    store: Store, user_id: uuid.UUID, *, login_type: str, lifetime_seconds: int, name: str = ""
) -> tuple[str, APIKeyRow]:
    generated = tokens.generate()
    now = dt.datetime.now(dt.UTC)
    row = await store.insert_api_key(
        APIKeyRow(
            id=generated.key_id,
            user_id=user_id,
            hashed_secret=generated.hashed_secret,
            name=name,
            login_type=login_type,
            lifetime_seconds=lifetime_seconds,
            expires_at=now + dt.timedelta(seconds=lifetime_seconds),
            created_at=now,
            last_used_at=now,
        )
    )
    return generated.token, row


async def authenticate(store: Store, token: str) -> tuple[UserRow, APIKeyRow]:
    """Resolve a presented token to its user and key, or raise Unauthorized with the reason;
    stamps the key's last use (at most once a minute) in the same transaction."""
    user, key = await check(store, token)
    now = dt.datetime.now(dt.UTC)
    if touch_due(key, now):
        await touch(store, user, key, now)
    return user, key


def touch_due(key: APIKeyRow, now: dt.datetime) -> bool:
    return now - key.last_used_at > LAST_USED_GRANULARITY


async def touch(store: Store, user: UserRow, key: APIKeyRow, now: dt.datetime) -> None:
    """Stamp the key's last use and the user's last sighting (a write)."""
    system = store.as_system(reason="record API key use")
    await system.update_api_key_last_used(key.id, now)
    await system.update_user_last_seen(user.id, now)


async def check(store: Store, token: str) -> tuple[UserRow, APIKeyRow]:
    """`authenticate` without the write: reads only, so it fits a read-only transaction."""
    parts = tokens.split(token)
    if parts is None:
        raise Unauthorized("Invalid API key format.", detail="Expected a token like <10-char id>-<22-char secret>.")
    key_id, secret = parts
    system = store.as_system(reason="authenticate request")
    try:
        key, user = await system.get_api_key_with_user(key_id)  # one indexed query
    except NotFound:
        raise Unauthorized("API key is invalid or has been revoked.") from None
    if not tokens.verify(secret, key.hashed_secret):
        raise Unauthorized("API key is invalid or has been revoked.")
    now = dt.datetime.now(dt.UTC)
    if key.expires_at <= now:
        raise Unauthorized("API key expired.", detail="Log in again or create a new API key.")
    if user.status != "active":
        raise Unauthorized("Your account is suspended. Contact an administrator.")
    return user, key


async def login(
    store: Store,
    ctx: RequestContext,
    limiter: RateLimiter,
    *,
    email: str,
    password: str,
    session_seconds: int,
) -> tuple[str, UserRow]:
    keys = (f"account:{email.lower()}", f"ip:{ctx.ip}")
    wait = limiter.retry_after(*keys)
    if wait:
        raise TooManyRequests("Too many login attempts. Try again later.", headers={"Retry-After": str(wait)})
    limiter.hit(*keys)
    system = store.as_system(reason="log in")
    try:
        user: UserRow | None = await system.get_user_by_email(email)
    except NotFound:
        user = None
    ok = await verify_password_async(user.hashed_password if user else None, password)
    if user is None or not ok:
        await audit.record(
            store,
            ctx,
            action="login",
            resource_type="api_key",
            target=email.lower(),
            status_code=401,
            user_id=user.id if user else None,
            username=user.username if user else "",
        )
        raise Unauthorized("Incorrect email or password.")
    if user.status != "active":
        await audit.record(
            store,
            ctx,
            action="login",
            resource_type="api_key",
            target=user.username,
            status_code=401,
            user_id=user.id,
            username=user.username,
        )
        raise Unauthorized("Your account is suspended. Contact an administrator.")
    token, key = await issue_key(system, user.id, login_type=LOGIN_TYPE_PASSWORD, lifetime_seconds=session_seconds)
    await audit.record(
        store,
        ctx,
        action="login",
        resource_type="api_key",
        resource_id=key.id,
        target=user.username,
        status_code=201,
        user_id=user.id,
        username=user.username,
    )
    return token, user


async def logout(store: Store, ctx: RequestContext, key: APIKeyRow) -> None:
    await store.delete_api_key(key.id)
    await audit.record(
        store, ctx, action="logout", resource_type="api_key", resource_id=key.id, target=ctx.username, status_code=200
    )
