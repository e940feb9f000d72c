"""Per-user OAuth2 for MCP servers, devplane being the OAuth client: connect, callback, disconnect.

Decisions (issue 3 wins over the coder reference where they differ):
- The state is 256 random bits, kept server-side as a sha256 hash together with the user, the
  config, the PKCE verifier (encrypted by the crypt store) and the redirect URI; it expires after
  10 minutes and is consumed (deleted) by the callback. A state of another user, another config,
  or an expired one is refused exactly like an unknown one, before any token request.
- Connect and callback see configs the way GET /mcp/servers/{id} does: a member asking for a
  disabled config gets 404 (its existence is not revealed); an admin gets 400 "not enabled".
- Disconnect reads the config as the system, so a user can always remove (and revoke) their own
  token, also for a disabled config; an unknown config is 404; no token is a no-op (idempotent).
- No transaction is open while the provider is called (up to 10 s): on SQLite a writing
  transaction holds the database's write lock and would stop every other writer for that long.
  The callback consumes the state in one short transaction, exchanges the code with none open,
  and stores the token in a second one; disconnect deletes the token in one, revokes with none
  open, and audits in a second. So callback and disconnect take a `Database`, not a `Store`.
- Refresh (get_valid_access_token) lives in mcp_oauth_refresh.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import structlog

from devplane.authz.authorizer import Subject
from devplane.db.database import Database
from devplane.db.mcp_rows import MCPOAuth2StateRow, MCPServerConfigRow, MCPServerUserTokenRow
from devplane.db.store import Store
from devplane.errors import BadGateway, BadRequest, NotFound
from devplane.services import audit, events, mcp_configs
from devplane.services import mcp_oauth_http as provider
from devplane.services.context import RequestContext
from devplane.services.mcp_oauth_protocol import (
    STATE_LIFETIME,
    TokenSet,
    authorize_url,
    code_challenge,
    hash_state,
    new_code_verifier,
    new_state,
    redirect_uri,
)

log = structlog.get_logger(__name__)

INVALID_STATE = "Invalid or missing OAuth2 state parameter."
MAX_STATE_LENGTH = 512
MAX_PROVIDER_TEXT = 300


class TokenExchangeFailed(BadGateway):
    """The provider did not give us a token for the code. Never carries the provider's body."""

    default_message = "Failed to exchange authorization code for token."


def require_oauth2(row: MCPServerConfigRow) -> None:
    """The checks connect and callback share (coder's order), after the 404s."""
    if not row.enabled:
        raise BadRequest("MCP server is not enabled.")
    if row.auth_type != "oauth2":
        raise BadRequest("MCP server does not use OAuth2 authentication.")
    if not row.oauth2_auth_url:
        raise BadRequest("MCP server OAuth2 authorization URL is not configured.")
    if not row.oauth2_token_url:
        raise BadRequest("MCP server OAuth2 token URL is not configured.")


async def oauth2_config(store: Store, config_id: uuid.UUID) -> MCPServerConfigRow:
    row = await mcp_configs.get_visible(store, config_id)
    require_oauth2(row)
    return row


async def start_connect(store: Store, user_id: uuid.UUID, config_id: uuid.UUID, access_url: str) -> str:
    """Remember a pending authorization and return the provider URL to redirect the browser to."""
    config = await oauth2_config(store, config_id)
    now = dt.datetime.now(dt.UTC)
    # Housekeeping on the way: abandoned flows must not pile up.
    await store.as_system(reason="drop expired MCP OAuth2 states").delete_expired_mcp_oauth2_states(now)
    state, verifier = new_state(), new_code_verifier()
    redirect = redirect_uri(access_url, config.id)
    await store.insert_mcp_oauth2_state(
        MCPOAuth2StateRow(
            state_hash=hash_state(state),
            id=uuid.uuid4(),
            user_id=user_id,
            mcp_server_config_id=config.id,
            redirect_uri=redirect,
            created_at=now,
            expires_at=now + STATE_LIFETIME,
            code_verifier=verifier,
        )
    )
    return authorize_url(
        config.oauth2_auth_url,
        client_id=config.oauth2_client_id,
        redirect=redirect,
        scopes=config.oauth2_scopes,
        state=state,
        challenge=code_challenge(verifier),
        resource=config.url,
    )


@dataclass(frozen=True)
class CallbackParams:
    """The query the provider sent the browser back with."""

    code: str | None = None
    state: str | None = None
    error: str | None = None
    error_description: str | None = None


async def _consume_state(
    store: Store, state: str | None, user_id: uuid.UUID, config_id: uuid.UUID
) -> MCPOAuth2StateRow:
    """Single use: the state is deleted here. The caller's transaction rolls back on error, so
    refusing another user's state does not burn it for them."""
    if not state or len(state) > MAX_STATE_LENGTH:
        raise BadRequest(INVALID_STATE)
    try:
        pending = await store.consume_mcp_oauth2_state(hash_state(state))
    except NotFound:
        raise BadRequest(INVALID_STATE) from None
    # Owners pass the store's ownership check on anyone's state, hence the explicit user check.
    expired = pending.expires_at <= dt.datetime.now(dt.UTC)
    if pending.user_id != user_id or pending.mcp_server_config_id != config_id or expired:
        raise BadRequest(INVALID_STATE)
    return pending


@dataclass(frozen=True)
class _Exchange:
    """What the code exchange needs, read (and the state consumed) by the first transaction."""

    config: MCPServerConfigRow
    pending: MCPOAuth2StateRow
    code: str = field(repr=False)


async def _check_callback(store: Store, user_id: uuid.UUID, config_id: uuid.UUID, params: CallbackParams) -> _Exchange:
    """The provider's answer and the state, checked in coder's order; consumes the state."""
    config = await oauth2_config(store, config_id)
    if params.error is not None:
        text = params.error_description or params.error
        raise BadRequest("OAuth2 provider returned an error.", detail=text[:MAX_PROVIDER_TEXT])
    if not params.code:
        raise BadRequest("Missing authorization code.")
    pending = await _consume_state(store, params.state, user_id, config.id)
    return _Exchange(config=config, pending=pending, code=params.code)


async def _exchange_code(exchange: _Exchange, user_id: uuid.UUID) -> TokenSet:
    config = exchange.config
    try:
        return await provider.exchange_code(
            token_url=config.oauth2_token_url,
            client_id=config.oauth2_client_id,
            client_secret=config.oauth2_client_secret,
            code=exchange.code,
            redirect_uri=exchange.pending.redirect_uri,
            code_verifier=exchange.pending.code_verifier,
            resource=config.url,
        )
    except provider.TokenEndpointError as exc:
        log.warning(
            "mcp_oauth.exchange_failed",
            config_id=str(config.id),
            user_id=str(user_id),
            reason=exc.reason,
            status=exc.status,
            error_code=exc.code,
        )
        raise TokenExchangeFailed(
            detail="The provider did not issue a token. Connect again; if this persists, "
            "ask an administrator to check the MCP server's OAuth2 settings."
        ) from None


async def _save_token(
    store: Store, ctx: RequestContext, user_id: uuid.UUID, config_id: uuid.UUID, tokens: TokenSet
) -> MCPServerConfigRow:
    # Read again: while the provider answered, the config may have been deleted (404), disabled
    # or switched to another auth type (400); then the token is not kept.
    config = await oauth2_config(store, config_id)
    now = dt.datetime.now(dt.UTC)
    await store.upsert_mcp_server_user_token(
        MCPServerUserTokenRow(
            id=uuid.uuid4(),
            mcp_server_config_id=config.id,
            user_id=user_id,
            token_type=tokens.token_type,
            expiry=tokens.expiry,
            refresh_failure_reason="",
            created_at=now,
            updated_at=now,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
        )
    )
    await events.token_changed(store, config.id, user_id)
    await audit.record(
        store,
        ctx,
        action="connect",
        resource_type=mcp_configs.RESOURCE,
        resource_id=config.id,
        target=config.slug,
        status_code=200,
    )
    return config


async def handle_callback(
    db: Database,
    actor: Subject,
    ctx: RequestContext,
    user_id: uuid.UUID,
    config_id: uuid.UUID,
    params: CallbackParams,
) -> MCPServerConfigRow:
    """Check the provider's answer and the state, exchange the code, store the token, audit.

    Three steps, and no transaction is open during the middle one (the provider call):
    1. check and consume the state, committed: the state is used exactly once, even if the
       exchange then fails (the code was spent on it); a refusal rolls back and burns nothing;
    2. the code exchange;
    3. store the token and the audit entry together, or neither.
    """
    async with db.transaction() as tx:
        exchange = await _check_callback(tx.store(actor), user_id, config_id, params)
    tokens = await _exchange_code(exchange, user_id)
    async with db.transaction() as tx:
        return await _save_token(tx.store(actor), ctx, user_id, exchange.config.id, tokens)


@dataclass(frozen=True)
class DisconnectResult:
    deleted: bool
    token_revoked: bool
    revocation_error: str | None = None


async def _revoke(config: MCPServerConfigRow, token: MCPServerUserTokenRow) -> tuple[bool, str | None]:
    """Refresh token first (it usually takes the access token with it), then the access token."""
    if not config.oauth2_revocation_url:
        return False, None
    errors: list[str] = []
    attempted = False
    for value, hint in ((token.refresh_token, "refresh_token"), (token.access_token, "access_token")):
        if not value:
            continue
        attempted = True
        try:
            await provider.revoke(
                url=config.oauth2_revocation_url,
                client_id=config.oauth2_client_id,
                client_secret=config.oauth2_client_secret,
                token=value,
                token_type_hint=hint,
            )
        except provider.RevocationFailed as exc:
            errors.append(f"{hint}: {exc}")
    return attempted and not errors, "; ".join(errors) or None


async def disconnect(
    db: Database, actor: Subject, ctx: RequestContext, user_id: uuid.UUID, config_id: uuid.UUID
) -> DisconnectResult:
    """Delete the token, then revoke it at the provider when it has an endpoint (a failed
    revocation is logged and reported, the token stays deleted), then audit.

    Deleted first, in its own short transaction: from then on no refresh can use or re-save it
    (a refresh that waited for the row lock finds nothing), and the revocation runs with no
    transaction open. The audit entry comes last, in a second short transaction, so it records
    whether the revocation worked (the price: a crash in between leaves a deletion unaudited).
    """
    async with db.transaction() as tx:
        store = tx.store(actor)
        config = await store.as_system(
            reason="read an MCP server config to disconnect from it"
        ).get_mcp_server_config_by_id(config_id)
        try:
            # Locked: on PostgreSQL a refresh in flight holds this row; we wait for it and revoke
            # (and delete) what it stored rather than the tokens it replaced.
            token = await store.get_mcp_server_user_token(config.id, user_id, for_update=True)
        except NotFound:
            return DisconnectResult(deleted=False, token_revoked=False)
        deleted = await store.delete_mcp_server_user_token(config.id, user_id)
        await events.token_changed(store, config.id, user_id)
    revoked, error = await _revoke(config, token)
    if error:
        log.warning("mcp_oauth.revocation_failed", config_id=str(config.id), user_id=str(user_id), reason=error)
    async with db.transaction() as tx:
        await audit.record(
            tx.store(actor),
            ctx,
            action="disconnect",
            resource_type=mcp_configs.RESOURCE,
            resource_id=config.id,
            target=config.slug,
            status_code=204,
            changes={"token_revoked": {"old": None, "new": revoked, "secret": False}},
        )
    return DisconnectResult(deleted=deleted, token_revoked=revoked, revocation_error=error)
