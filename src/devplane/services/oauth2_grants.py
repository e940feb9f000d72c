"""Authorization codes, the token endpoint (code and refresh grants) and revocation (RFC 7009).

Refresh tokens rotate on every use. A replaced token stays usable for ROTATION_GRACE_SECONDS,
because clients refresh concurrently (several processes sharing one token store; spec §3.9);
presenting it after that is a replay: the whole family (everything descending from one
authorization code) is revoked and audited. A code used twice revokes what it minted.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from devplane.crypto import oauth2_secrets, tokens
from devplane.db.oauth2_rows import OAuth2ProviderAppCodeRow, OAuth2ProviderAppRow, OAuth2ProviderAppTokenRow
from devplane.db.rows import APIKeyRow
from devplane.db.store import Store
from devplane.errors import NotFound
from devplane.services import audit
from devplane.services.context import RequestContext
from devplane.services.oauth2_common import (
    ACCESS_SECONDS,
    CODE_SECONDS,
    LOGIN_TYPE,
    REFRESH_SECONDS,
    ROTATION_GRACE_SECONDS,
    OAuth2Error,
    ProviderConfig,
    check_resource,
)


@dataclass(frozen=True)
class CodeRequest:
    app: OAuth2ProviderAppRow
    user_id: uuid.UUID
    redirect_uri: str
    resource: str
    code_challenge: str
    scope: str


async def issue_code(store: Store, ctx: RequestContext, req: CodeRequest) -> str:
    """A new authorization code for the signed-in user's consent (store: the user's)."""
    secret = oauth2_secrets.generate()
    now = dt.datetime.now(dt.UTC)
    row = await store.insert_oauth2_provider_app_code(
        OAuth2ProviderAppCodeRow(
            id=uuid.uuid4(),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=CODE_SECONDS),
            secret_prefix=secret.prefix,
            hashed_secret=secret.hashed,
            user_id=req.user_id,
            app_id=req.app.id,
            redirect_uri=req.redirect_uri,
            resource_uri=req.resource,
            code_challenge=req.code_challenge,
            code_challenge_method="S256",
            scope=req.scope,
            used_at=None,
        )
    )
    await audit.record(
        store,
        ctx,
        action="grant",
        resource_type="oauth2_provider_app",
        resource_id=req.app.id,
        target=req.app.name,
        status_code=302,
        changes=audit.diff(None, {"scope": req.scope, "code_id": str(row.id)}),
    )
    return secret.formatted


def pkce_matches(verifier: str, challenge: str) -> bool:
    if not 43 <= len(verifier) <= 128:
        return False
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(computed, challenge)


def _invalid_grant(description: str) -> OAuth2Error:
    return OAuth2Error("invalid_grant", description)


async def _mint(
    system: Store, app: OAuth2ProviderAppRow, user_id: uuid.UUID, audience: str, scope: str, family_id: uuid.UUID
) -> dict[str, Any]:
    """A new access token (an API key bound to the audience) and refresh token in `family_id`."""
    access = tokens.generate()
    refresh = oauth2_secrets.generate()
    now = dt.datetime.now(dt.UTC)
    key = await system.insert_api_key(
        APIKeyRow(
            id=access.key_id,
            user_id=user_id,
            hashed_secret=access.hashed_secret,
            name=f"oauth2:{app.name}"[:64],
            login_type=LOGIN_TYPE,
            lifetime_seconds=ACCESS_SECONDS,
            expires_at=now + dt.timedelta(seconds=ACCESS_SECONDS),
            created_at=now,
            last_used_at=now,
            audience=audience,
            scope=scope,
            oauth2_app_id=app.id,
        )
    )
    await system.insert_oauth2_provider_app_token(
        OAuth2ProviderAppTokenRow(
            id=uuid.uuid4(),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=REFRESH_SECONDS),
            hash_prefix=refresh.prefix,
            refresh_hash=refresh.hashed,
            app_id=app.id,
            user_id=user_id,
            api_key_id=key.id,
            audience=audience,
            scope=scope,
            family_id=family_id,
            rotated_at=None,
        )
    )
    return {
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": ACCESS_SECONDS,
        "refresh_token": refresh.formatted,
        "scope": scope,
    }


async def _active_user(system: Store, user_id: uuid.UUID) -> None:
    try:
        user = await system.get_user_by_id(user_id)
    except NotFound:
        raise _invalid_grant("The user no longer exists.") from None
    if user.status != "active":
        raise _invalid_grant("The user's account is suspended.")


async def exchange_code(
    store: Store,
    ctx: RequestContext,
    config: ProviderConfig,
    app: OAuth2ProviderAppRow,
    *,
    code: str,
    code_verifier: str,
    redirect_uri: str | None,
    resource: str | None,
) -> dict[str, Any]:
    system = store.as_system(reason="exchange an OAuth2 authorization code")
    parsed = oauth2_secrets.parse(code)
    if parsed is None:
        raise _invalid_grant("The authorization code is malformed.")
    now = dt.datetime.now(dt.UTC)
    try:
        row, first_use = await system.consume_oauth2_provider_app_code(parsed.prefix, now)
    except NotFound:
        raise _invalid_grant("The authorization code is invalid.") from None
    if not oauth2_secrets.verify(parsed.secret, row.hashed_secret) or row.app_id != app.id:
        raise _invalid_grant("The authorization code is invalid.")
    if not first_use:
        await _revoke_family(
            store, ctx, app, row.id, row.user_id, target="authorization code reused", family_key="code_id"
        )
        raise _invalid_grant("The authorization code was already used; the tokens it issued are revoked.")
    if row.expires_at <= now:
        raise _invalid_grant("The authorization code expired.")
    if redirect_uri is not None and redirect_uri != row.redirect_uri:
        raise _invalid_grant("redirect_uri differs from the authorization request's.")
    if not pkce_matches(code_verifier, row.code_challenge):
        raise _invalid_grant("The PKCE code_verifier does not match the code_challenge.")
    if resource and check_resource(config, resource) != row.resource_uri:
        raise OAuth2Error("invalid_target", "resource differs from the authorization request's.")
    await _active_user(system, row.user_id)
    return await _mint(system, app, row.user_id, row.resource_uri, row.scope, family_id=row.id)


async def refresh(
    store: Store,
    ctx: RequestContext,
    config: ProviderConfig,
    app: OAuth2ProviderAppRow,
    *,
    refresh_token: str,
    resource: str | None,
) -> dict[str, Any]:
    system = store.as_system(reason="refresh an OAuth2 token")
    parsed = oauth2_secrets.parse(refresh_token)
    if parsed is None:
        raise _invalid_grant("The refresh token is malformed.")
    try:
        row = await system.get_oauth2_provider_app_token_by_prefix(parsed.prefix)
    except NotFound:
        raise _invalid_grant("The refresh token is invalid or revoked.") from None
    if not oauth2_secrets.verify(parsed.secret, row.refresh_hash) or row.app_id != app.id:
        raise _invalid_grant("The refresh token is invalid or revoked.")
    now = dt.datetime.now(dt.UTC)
    if row.expires_at <= now:
        raise _invalid_grant("The refresh token expired.")
    if resource and check_resource(config, resource) != row.audience:
        raise OAuth2Error("invalid_target", "resource differs from the one the token was issued for.")
    if not await system.mark_oauth2_provider_app_token_rotated(row.id, now):
        # Already rotated: a concurrent refresh within the grace window is fine; later, a replay.
        rotated_at = row.rotated_at or now
        if now - rotated_at > dt.timedelta(seconds=ROTATION_GRACE_SECONDS):
            await _revoke_family(
                store, ctx, app, row.family_id, row.user_id, target="refresh token replayed", family_key="family_id"
            )
            raise _invalid_grant("The refresh token was already used; its token family is revoked.")
    await _active_user(system, row.user_id)
    return await _mint(system, app, row.user_id, row.audience, row.scope, family_id=row.family_id)


async def revoke(store: Store, ctx: RequestContext, app: OAuth2ProviderAppRow, token: str) -> None:
    """RFC 7009: revoke a refresh token (its family) or an access token of this client.
    Unknown tokens are not an error (§2.2)."""
    system = store.as_system(reason="revoke an OAuth2 token")
    parsed = oauth2_secrets.parse(token)
    if parsed is not None:
        try:
            row = await system.get_oauth2_provider_app_token_by_prefix(parsed.prefix)
        except NotFound:
            return
        if row.app_id != app.id or not oauth2_secrets.verify(parsed.secret, row.refresh_hash):
            return
        count = await system.delete_oauth2_provider_app_token_family(row.family_id)
        await _audit_revoke(store, ctx, app, row.user_id, {"family_id": str(row.family_id), "tokens_revoked": count})
        return
    parts = tokens.split(token)
    if parts is None:
        return
    try:
        key = await system.get_api_key_by_id(parts[0])
    except NotFound:
        return
    if key.oauth2_app_id != app.id or not tokens.verify(parts[1], key.hashed_secret):
        return
    await system.delete_api_key(key.id)
    await _audit_revoke(store, ctx, app, key.user_id, {"api_key_id": key.id})


async def _audit_revoke(
    store: Store, ctx: RequestContext, app: OAuth2ProviderAppRow, user_id: uuid.UUID, changes: dict[str, Any]
) -> None:
    await audit.record(
        store,
        ctx,
        action="revoke",
        resource_type="oauth2_provider_app",
        resource_id=app.id,
        target=app.name,
        user_id=user_id,
        username="",
        changes=audit.diff(None, changes),
    )


async def _revoke_family(
    store: Store,
    ctx: RequestContext,
    app: OAuth2ProviderAppRow,
    family_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    target: str,
    family_key: str,
) -> None:
    """Revoke every token of a rotation family (a code's, or a refresh token's) and audit why."""
    system = store.as_system(reason="revoke a replayed OAuth2 grant")
    revoked = await system.delete_oauth2_provider_app_token_family(family_id)
    await audit.record(
        store,
        ctx,
        action="revoke",
        resource_type="oauth2_provider_app",
        resource_id=app.id,
        target=target,
        status_code=400,
        user_id=user_id,
        username="",
        changes=audit.diff(None, {family_key: str(family_id), "tokens_revoked": revoked}),
    )
