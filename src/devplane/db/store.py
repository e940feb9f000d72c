"""The `Store` protocol: every query devplane runs. Routes and services depend on this only.

The stack is built in one place (api/deps.py, services/system.py):
`CryptStore(AuthzStore(SqlStore(session), actor))`. A test fails on any method here that has
no authorization case, so adding a method means adding its case in tests/db/test_authz_store.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import fields
from typing import Any, Protocol

from devplane.db.chat_rows import ChatModelConfigRow, ChatProviderRow, ChatQueuedMessageRow
from devplane.db.mcp_rows import (
    ChatMessageRow,
    ChatRow,
    MCPOAuth2StateRow,
    MCPServerConfigRow,
    MCPServerUserTokenRow,
    MCPToolCallFilter,
    MCPToolCallRow,
)
from devplane.db.oauth2_rows import (
    OAuth2ProviderAppCodeRow,
    OAuth2ProviderAppRow,
    OAuth2ProviderAppSecretRow,
    OAuth2ProviderAppTokenRow,
    OAuth2ProviderSettingsRow,
)
from devplane.db.rows import (
    APIKeyRow,
    AuditLogFilter,
    AuditLogRow,
    DBCryptKeyRow,
    EncryptedColumn,
    EncryptedValue,
    UserRow,
)

# Methods of the protocol that are plumbing, not queries; the accounting test skips them.
NON_QUERY_METHODS = frozenset({"as_system"})


class Store(Protocol):
    def as_system(self, reason: str) -> Store:
        """The same store acting as the system. `reason` is a literal that says why."""
        ...

    # --- users -------------------------------------------------------------------------
    async def count_users(self) -> int:
        """Number of users; used to decide whether the first-user flow is open."""
        ...

    async def lock_first_user(self) -> None:
        """Hold the first-user lock until the transaction ends, so count-then-insert is atomic."""
        ...

    async def get_user_by_id(self, user_id: uuid.UUID) -> UserRow:
        """Raise NotFound when missing."""
        ...

    async def get_user_by_username(self, username: str) -> UserRow:
        """Case-insensitive; raise NotFound when missing."""
        ...

    async def get_user_by_email(self, email: str) -> UserRow:
        """Case-insensitive; raise NotFound when missing."""
        ...

    async def list_users(self) -> list[UserRow]:
        """All users ordered by username."""
        ...

    async def insert_user(self, row: UserRow) -> UserRow:
        """Raise Conflict on a duplicate username or email."""
        ...

    async def update_user_profile(self, user_id: uuid.UUID, *, username: str, email: str) -> UserRow:
        """Replace username and email; raise Conflict on a duplicate."""
        ...

    async def update_user_password(self, user_id: uuid.UUID, hashed_password: str) -> UserRow:
        """Store a new password hash."""
        ...

    async def update_user_status(self, user_id: uuid.UUID, status: str) -> UserRow:
        """Set 'active' or 'suspended'."""
        ...

    async def update_user_roles(self, user_id: uuid.UUID, roles: list[str]) -> UserRow:
        """Replace the user's explicit roles (member is implied)."""
        ...

    async def update_user_last_seen(self, user_id: uuid.UUID, at: dt.datetime) -> None:
        """Bump last-seen; best effort, called on authenticated requests."""
        ...

    async def delete_user(self, user_id: uuid.UUID) -> None:
        """Delete a user; their API keys go with them."""
        ...

    # --- API keys ------------------------------------------------------------------------
    async def insert_api_key(self, row: APIKeyRow) -> APIKeyRow:
        """Store a new key (hash only)."""
        ...

    async def get_api_key_by_id(self, key_id: str) -> APIKeyRow:
        """Raise NotFound when missing."""
        ...

    async def list_api_keys_by_user_id(self, user_id: uuid.UUID, login_type: str | None) -> list[APIKeyRow]:
        """A user's keys, newest first; optionally only one login type."""
        ...

    async def update_api_key_last_used(self, key_id: str, at: dt.datetime) -> None:
        """Bump last-used; best effort."""
        ...

    async def delete_api_key(self, key_id: str) -> None:
        """Revoke a key. Missing keys raise NotFound."""
        ...

    # --- audit ---------------------------------------------------------------------------
    async def insert_audit_log(self, row: AuditLogRow) -> None:
        """Append an entry in the caller's transaction."""
        ...

    async def list_audit_logs(self, flt: AuditLogFilter) -> tuple[list[AuditLogRow], int]:
        """Entries newest first, and the total count matching the filter."""
        ...

    # --- dbcrypt -------------------------------------------------------------------------
    async def get_dbcrypt_keys(self) -> list[DBCryptKeyRow]:
        """All key rows ordered by number."""
        ...

    async def insert_dbcrypt_key(self, row: DBCryptKeyRow) -> DBCryptKeyRow:
        """Register a key with its encrypted test value."""
        ...

    async def revoke_dbcrypt_key(self, digest: str, at: dt.datetime) -> DBCryptKeyRow:
        """Move digest from active to revoked. Conflict when rows still use it."""
        ...

    async def count_encrypted_values(
        self, column: EncryptedColumn, key_id: str | None, *, not_key_id: str | None = None
    ) -> int:
        """Non-empty values of `column` encrypted with `key_id`, or (key_id None) not with `not_key_id`."""
        ...

    async def list_encrypted_values(
        self, column: EncryptedColumn, *, not_key_id: str | None, limit: int
    ) -> list[EncryptedValue]:
        """Non-empty values of `column` whose key is not `not_key_id` (rotation's work list)."""
        ...

    async def update_encrypted_value(
        self, column: EncryptedColumn, row_id: str, *, expected_key_id: str | None, value: str, key_id: str | None
    ) -> bool:
        """Compare-and-set one value; False when it changed underneath (rotation retries)."""
        ...

    # --- MCP server configs --------------------------------------------------------------
    async def get_mcp_server_config_by_id(
        self, config_id: uuid.UUID, *, for_update: bool = False
    ) -> MCPServerConfigRow:
        """Raise NotFound when missing. `for_update` locks the row until the transaction ends."""
        ...

    async def get_mcp_server_config_by_slug(self, slug: str) -> MCPServerConfigRow:
        """Raise NotFound when missing."""
        ...

    async def list_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        """All configs ordered by display_name."""
        ...

    async def list_enabled_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        """Enabled configs ordered by display_name."""
        ...

    async def list_mcp_server_configs_by_ids(
        self, ids: list[uuid.UUID], *, for_key_share: bool = False
    ) -> list[MCPServerConfigRow]:
        """Configs among `ids` (missing ones are simply absent), ordered by display_name.

        `for_key_share` keeps them from being deleted until the transaction ends (PostgreSQL
        `FOR KEY SHARE`: a delete or a `for_update` read waits, a plain update does not; SQLite
        needs no lock, its writers are serialised). A config being deleted meanwhile is waited
        for, then absent."""
        ...

    async def list_forced_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        """Enabled `force_on` configs ordered by display_name."""
        ...

    async def insert_mcp_server_config(self, row: MCPServerConfigRow) -> MCPServerConfigRow:
        """Raise Conflict on a duplicate slug."""
        ...

    async def update_mcp_server_config(self, row: MCPServerConfigRow) -> MCPServerConfigRow:
        """Write every column of `row`; raise Conflict on a duplicate slug, NotFound when missing."""
        ...

    async def delete_mcp_server_config(self, config_id: uuid.UUID) -> None:
        """Delete a config, its users' tokens, and its id from every chat's selection."""
        ...

    # --- MCP per-user OAuth2 tokens ---------------------------------------------------------
    async def get_mcp_server_user_token(
        self, config_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False
    ) -> MCPServerUserTokenRow:
        """Raise NotFound when the user has no token for the config."""
        ...

    async def list_mcp_server_user_tokens_by_user_id(self, user_id: uuid.UUID) -> list[MCPServerUserTokenRow]:
        """All of one user's tokens."""
        ...

    async def upsert_mcp_server_user_token(self, row: MCPServerUserTokenRow) -> MCPServerUserTokenRow:
        """Insert or replace the (config, user) token; clears any refresh failure."""
        ...

    async def update_mcp_server_user_token_from_refresh(self, row: MCPServerUserTokenRow) -> MCPServerUserTokenRow:
        """Store refreshed tokens and expiry for an existing (config, user) token."""
        ...

    async def mark_mcp_server_user_token_refresh_failure(
        self, config_id: uuid.UUID, user_id: uuid.UUID, reason: str
    ) -> None:
        """Record a permanent refresh failure; the token stops being used until reconnect."""
        ...

    async def delete_mcp_server_user_token(self, config_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """Delete the token; False when there was none (idempotent)."""
        ...

    # --- MCP OAuth2 authorization states ---------------------------------------------------------
    async def insert_mcp_oauth2_state(self, row: MCPOAuth2StateRow) -> MCPOAuth2StateRow:
        """Remember a pending authorization (state hash, user, config, PKCE verifier)."""
        ...

    async def consume_mcp_oauth2_state(self, state_hash: str) -> MCPOAuth2StateRow:
        """Delete and return the pending authorization (single use); NotFound when absent."""
        ...

    async def delete_expired_mcp_oauth2_states(self, before: dt.datetime) -> int:
        """Housekeeping: drop states that expired before `before`."""
        ...

    # --- chats ------------------------------------------------------------------------------
    async def insert_chat(self, row: ChatRow) -> ChatRow:
        """Create a chat."""
        ...

    async def get_chat_by_id(self, chat_id: uuid.UUID, *, for_update: bool = False) -> ChatRow:
        """Raise NotFound when missing. `for_update` locks the row until the transaction ends."""
        ...

    async def list_chats_by_owner(self, owner_id: uuid.UUID) -> list[ChatRow]:
        """A user's chats, most recently updated first."""
        ...

    async def update_chat_mcp_server_ids(self, chat_id: uuid.UUID, ids: list[uuid.UUID]) -> ChatRow:
        """Replace the chat's MCP server selection and bump updated_at."""
        ...

    async def insert_chat_message(self, row: ChatMessageRow) -> ChatMessageRow:
        """Append a message to a chat and bump the chat's updated_at."""
        ...

    async def list_chat_messages(self, chat_id: uuid.UUID) -> list[ChatMessageRow]:
        """A chat's messages, oldest first."""
        ...

    # --- change events ----------------------------------------------------------------------
    async def publish_event(self, payload: dict[str, Any]) -> None:
        """Tell every replica (this one included) about a change, once this transaction commits;
        never if it rolls back. `payload` is a small JSON object with a "type" (services/events.py).
        PostgreSQL: NOTIFY on the devplane_events channel; SQLite: the in-process pubsub."""
        ...

    # --- MCP tool-call log ----------------------------------------------------------------
    async def insert_mcp_tool_calls(self, rows: list[MCPToolCallRow]) -> None:
        """Append a batch of tool-call rows (the background writer, as the system).

        A user or config id that no longer exists is stored as NULL rather than failing the batch.
        """
        ...

    async def list_mcp_tool_calls(self, flt: MCPToolCallFilter) -> tuple[list[MCPToolCallRow], int]:
        """Rows matching the filter, newest first, and the total count ignoring limit/offset."""
        ...

    # --- OAuth2 provider (issue 12) ---------------------------------------------------------
    async def get_oauth2_provider_settings(self) -> OAuth2ProviderSettingsRow:
        """The provider's stored switches; defaults (all off) when never set."""
        ...

    async def upsert_oauth2_provider_settings(self, row: OAuth2ProviderSettingsRow) -> OAuth2ProviderSettingsRow:
        """Replace the provider's stored switches."""
        ...

    async def insert_oauth2_provider_app(self, row: OAuth2ProviderAppRow) -> OAuth2ProviderAppRow:
        """Register an OAuth2 client (by an owner, or self-registered through DCR as the system)."""
        ...

    async def get_oauth2_provider_app_by_id(self, app_id: uuid.UUID) -> OAuth2ProviderAppRow:
        """Raise NotFound when missing."""
        ...

    async def list_oauth2_provider_apps(self) -> list[OAuth2ProviderAppRow]:
        """Every registered client, oldest first."""
        ...

    async def update_oauth2_provider_app(self, row: OAuth2ProviderAppRow) -> OAuth2ProviderAppRow:
        """Replace name, redirect URIs, auth method and updated_at; raise NotFound when missing."""
        ...

    async def delete_oauth2_provider_app(self, app_id: uuid.UUID) -> None:
        """Delete a client with its secrets, codes, refresh and access tokens; raise NotFound when missing."""
        ...

    async def insert_oauth2_provider_app_secret(self, row: OAuth2ProviderAppSecretRow) -> OAuth2ProviderAppSecretRow:
        """Store a client secret (prefix + sha256 only)."""
        ...

    async def get_oauth2_provider_app_secret_by_prefix(self, prefix: str) -> OAuth2ProviderAppSecretRow:
        """Raise NotFound when no secret has that prefix."""
        ...

    async def list_oauth2_provider_app_secrets_by_app_id(self, app_id: uuid.UUID) -> list[OAuth2ProviderAppSecretRow]:
        """A client's secrets (metadata only), oldest first."""
        ...

    async def delete_oauth2_provider_app_secret(self, secret_id: uuid.UUID) -> None:
        """Raise NotFound when missing."""
        ...

    async def insert_oauth2_provider_app_code(self, row: OAuth2ProviderAppCodeRow) -> OAuth2ProviderAppCodeRow:
        """Store an authorization code (prefix + sha256 only)."""
        ...

    async def consume_oauth2_provider_app_code(
        self, prefix: str, at: dt.datetime
    ) -> tuple[OAuth2ProviderAppCodeRow, bool]:
        """The code with that prefix and whether this call was its first use (it is marked used
        atomically). Raise NotFound when missing."""
        ...

    async def insert_oauth2_provider_app_token(self, row: OAuth2ProviderAppTokenRow) -> OAuth2ProviderAppTokenRow:
        """Store a refresh token (prefix + sha256 only) with its access token's API key id."""
        ...

    async def get_oauth2_provider_app_token_by_prefix(self, prefix: str) -> OAuth2ProviderAppTokenRow:
        """Raise NotFound when no refresh token has that prefix."""
        ...

    async def mark_oauth2_provider_app_token_rotated(self, token_id: uuid.UUID, at: dt.datetime) -> bool:
        """Set rotated_at if unset; True when this call set it."""
        ...

    async def delete_oauth2_provider_app_token_family(self, family_id: uuid.UUID) -> int:
        """Revoke a rotation family: its refresh tokens and their access tokens. Returns tokens deleted."""
        ...

    async def list_oauth2_provider_app_tokens_by_user_id(self, user_id: uuid.UUID) -> list[OAuth2ProviderAppTokenRow]:
        """A user's refresh tokens (their authorized apps), newest first."""
        ...

    async def delete_oauth2_provider_app_grants(self, app_id: uuid.UUID, user_id: uuid.UUID) -> int:
        """Revoke everything a user granted a client: codes, refresh and access tokens. Returns keys deleted."""

    # --- chat loop: providers, model configs, settings (issue 10) ------------------------------
    async def list_chat_providers(self) -> list[ChatProviderRow]:
        """Every registered model provider, by provider kind."""
        ...

    async def get_chat_provider_by_id(self, provider_id: uuid.UUID, *, for_update: bool = False) -> ChatProviderRow:
        """Raise NotFound when missing. `for_update` locks the row until the transaction ends."""
        ...

    async def insert_chat_provider(self, row: ChatProviderRow) -> ChatProviderRow:
        """Register a provider; Conflict when that provider kind is already registered."""
        ...

    async def update_chat_provider(self, row: ChatProviderRow) -> ChatProviderRow:
        """Replace a provider's settings (not its kind); NotFound when missing."""
        ...

    async def delete_chat_provider(self, provider_id: uuid.UUID) -> None:
        """Delete a provider and its model configs; chats using them fall back to the default."""
        ...

    async def list_chat_model_configs(self) -> list[ChatModelConfigRow]:
        """Live (not deleted) model configs, by display name."""
        ...

    async def get_chat_model_config_by_id(
        self, config_id: uuid.UUID, *, for_update: bool = False
    ) -> ChatModelConfigRow:
        """A model config, deleted ones included (check `deleted_at`); NotFound when missing."""
        ...

    async def insert_chat_model_config(self, row: ChatModelConfigRow) -> ChatModelConfigRow:
        """Add a model config; Conflict on a second live default or a live duplicate provider+model."""
        ...

    async def update_chat_model_config(self, row: ChatModelConfigRow) -> ChatModelConfigRow:
        """Replace a model config's fields (soft delete sets `deleted_at`); NotFound when missing."""
        ...

    async def clear_chat_model_config_default(self) -> None:
        """Unset `is_default` everywhere, before another config becomes the default."""
        ...

    async def get_chat_setting(self, key: str) -> str:
        """A deployment-wide chat setting (such as the system prompt); "" when never set."""
        ...

    async def upsert_chat_setting(self, key: str, value: str, at: dt.datetime) -> None:
        """Set a deployment-wide chat setting."""
        ...

    async def update_chat_model_config_id(self, chat_id: uuid.UUID, model_config_id: uuid.UUID | None) -> None:
        """Set the model a chat's next turn uses (None: the default); NotFound when the chat is missing."""
        ...

    # --- chat loop: turns, the worker, the queue (issue 10) --------------------------------------
    async def update_chat_run_state(
        self,
        chat_id: uuid.UUID,
        status: str,
        *,
        worker_id: str | None,
        heartbeat_at: dt.datetime | None,
        last_error: dict[str, Any] | None,
    ) -> ChatRow:
        """Set a chat's run state. Only services/chat_turns.set_status calls it (it checks the move)."""
        ...

    async def claim_chat(self, worker_id: str, now: dt.datetime, stale_before: dt.datetime) -> ChatRow | None:
        """Atomically move one pending chat (or a running one whose heartbeat is older than
        `stale_before`) to running for `worker_id`; None when there is none. Two claimers never get one chat."""
        ...

    async def heartbeat_chat(self, chat_id: uuid.UUID, worker_id: str, now: dt.datetime) -> bool:
        """Renew the worker's lease; False when the chat is no longer running for this worker."""
        ...

    async def update_chat_usage(self, chat_id: uuid.UUID, usage: dict[str, Any] | None) -> None:
        """Replace the chat's summed token usage."""
        ...

    async def update_chat_title(self, chat_id: uuid.UUID, title: str) -> None:
        """Set the chat's title; NotFound when the chat is missing."""
        ...

    async def insert_chat_queued_message(self, row: ChatQueuedMessageRow) -> ChatQueuedMessageRow:
        """Queue a message for a busy chat."""
        ...

    async def list_chat_queued_messages(self, chat_id: uuid.UUID) -> list[ChatQueuedMessageRow]:
        """A chat's queued messages, oldest first; NotFound when the chat is missing."""
        ...

    async def count_chat_queued_messages(self, chat_id: uuid.UUID) -> int:
        """How many messages wait in the chat's queue."""
        ...

    async def pop_chat_queued_message(self, chat_id: uuid.UUID) -> ChatQueuedMessageRow | None:
        """Remove and return the oldest queued message, or None."""

    # --- authentication (issue 9) ---------------------------------------------------------
    async def get_api_key_with_user(self, key_id: str) -> tuple[APIKeyRow, UserRow]:
        """A key and its user in one indexed query (every authenticated request makes it).
        Raise NotFound when the key is missing."""
        ...


def row_dict(row: Any) -> dict[str, Any]:
    """Plain dict of a row's public fields, for diffs and logs (never includes repr=False fields)."""
    return {f.name: getattr(row, f.name) for f in fields(row) if f.repr}
