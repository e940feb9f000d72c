"""Row types for MCP server configs, per-user OAuth2 tokens and states, and chats."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import uuid
from dataclasses import dataclass, field
from typing import Any

from devplane.authz.authorizer import Object
from devplane.authz.policy import Resource
from devplane.db.encrypted import register
from devplane.db.rows import EncryptedColumn

# field name on the row -> its encrypted column. The row carries `<field>_key_id` too.
CONFIG_SECRETS = {
    name: register(EncryptedColumn("mcp_server_configs", name))
    for name in ("oauth2_client_secret", "api_key_value", "custom_headers")
}
TOKEN_SECRETS = {
    name: register(EncryptedColumn("mcp_server_user_tokens", name)) for name in ("access_token", "refresh_token")
}
STATE_SECRETS = {"code_verifier": register(EncryptedColumn("mcp_oauth2_states", "code_verifier"))}


@dataclass(frozen=True)
class MCPServerConfigRow:
    id: uuid.UUID
    display_name: str
    slug: str
    description: str
    icon_url: str
    transport: str
    url: str
    auth_type: str
    oauth2_client_id: str
    oauth2_auth_url: str
    oauth2_token_url: str
    oauth2_revocation_url: str
    oauth2_scopes: str
    api_key_header: str
    custom_header_names: tuple[str, ...]
    tool_allow_list: tuple[str, ...]
    tool_deny_list: tuple[str, ...]
    availability: str
    enabled: bool
    created_by: uuid.UUID | None
    updated_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    # Secrets: plaintext above the crypt store, ciphertext below it. Never in repr.
    oauth2_client_secret: str = field(default="", repr=False)
    oauth2_client_secret_key_id: str | None = field(default=None, repr=False)
    api_key_value: str = field(default="", repr=False)
    api_key_value_key_id: str | None = field(default=None, repr=False)
    custom_headers: str = field(default="{}", repr=False)  # JSON object text
    custom_headers_key_id: str | None = field(default=None, repr=False)

    @functools.cached_property
    def version(self) -> str:
        """This state of the config, for cache and pool keys: its update time.

        Cached (the row is immutable): the MCP runtime needs it several times per tool call.
        """
        return self.updated_at.isoformat()

    def authz_object(self) -> Object:
        return Object(Resource.DEPLOYMENT_CONFIG)

    @classmethod
    def blank(cls, *, at: dt.datetime, created_by: uuid.UUID | None = None, **fields: Any) -> MCPServerConfigRow:
        """A new row with every field at its empty default (auth none, default_off, disabled), then
        `fields`: the one place that spells out a config's defaults for services and tests."""
        row = cls(
            id=uuid.uuid4(),
            display_name="",
            slug="",
            description="",
            icon_url="",
            transport="streamable_http",
            url="",
            auth_type="none",
            oauth2_client_id="",
            oauth2_auth_url="",
            oauth2_token_url="",
            oauth2_revocation_url="",
            oauth2_scopes="",
            api_key_header="",
            custom_header_names=(),
            tool_allow_list=(),
            tool_deny_list=(),
            availability="default_off",
            enabled=False,
            created_by=created_by,
            updated_by=created_by,
            created_at=at,
            updated_at=at,
        )
        return dataclasses.replace(row, **fields)


@dataclass(frozen=True)
class MCPServerUserTokenRow:
    id: uuid.UUID
    mcp_server_config_id: uuid.UUID
    user_id: uuid.UUID
    token_type: str
    expiry: dt.datetime | None
    refresh_failure_reason: str
    created_at: dt.datetime
    updated_at: dt.datetime
    access_token: str = field(default="", repr=False)
    access_token_key_id: str | None = field(default=None, repr=False)
    refresh_token: str = field(default="", repr=False)
    refresh_token_key_id: str | None = field(default=None, repr=False)

    def authz_object(self) -> Object:
        return Object(Resource.MCP_USER_TOKEN, owner_id=self.user_id)


@dataclass(frozen=True)
class MCPOAuth2StateRow:
    state_hash: str = field(repr=False)
    id: uuid.UUID
    user_id: uuid.UUID
    mcp_server_config_id: uuid.UUID
    redirect_uri: str
    created_at: dt.datetime
    expires_at: dt.datetime
    code_verifier: str = field(default="", repr=False)
    code_verifier_key_id: str | None = field(default=None, repr=False)

    def authz_object(self) -> Object:
        return Object(Resource.MCP_USER_TOKEN, owner_id=self.user_id)


@dataclass(frozen=True)
class ChatRow:
    id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    mcp_server_ids: tuple[uuid.UUID, ...]
    created_at: dt.datetime
    updated_at: dt.datetime
    # The chat loop (issue 10): the model of the next turn; None = the deployment's default.
    model_config_id: uuid.UUID | None = None
    status: str = "waiting"  # waiting | pending | running | error
    worker_id: str | None = None
    heartbeat_at: dt.datetime | None = None
    last_error: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    last_seq: int = 0

    def authz_object(self) -> Object:
        return Object(Resource.CHAT, owner_id=self.owner_id)


@dataclass(frozen=True)
class ChatMessageRow:
    id: uuid.UUID
    chat_id: uuid.UUID
    role: str
    content: tuple[dict[str, Any], ...]
    created_at: dt.datetime
    # Denormalised from the chat so authorization needs no second query.
    owner_id: uuid.UUID
    # chat loop (issue 10): per-chat order (assigned on insert), the model that wrote it, token usage.
    seq: int = 0
    model_config_id: uuid.UUID | None = None
    usage: dict[str, Any] | None = None

    def authz_object(self) -> Object:
        return Object(Resource.CHAT, owner_id=self.owner_id)


@dataclass(frozen=True)
class MCPToolCallRow:
    """One tool call in the log. Sizes only: arguments and results are never stored."""

    id: uuid.UUID
    created_at: dt.datetime  # when the call started
    user_id: uuid.UUID | None  # None once the user is deleted
    chat_id: uuid.UUID | None
    mcp_server_config_id: uuid.UUID | None  # None for unknown tools, or once the config is deleted
    server_slug: str
    tool: str
    duration_ms: float
    outcome: str  # ok | tool_error | rpc_error | timeout | auth_required | error | denied
    error_class: str
    arguments_bytes: int
    result_bytes: int
    oauth2_app_id: uuid.UUID | None = None  # the OAuth client a gateway call came through (issue 12)

    def authz_object(self) -> Object:
        # Operational data about the deployment: read with deployment_config read (admins, auditors).
        return Object(Resource.DEPLOYMENT_CONFIG)


@dataclass(frozen=True)
class MCPToolCallFilter:
    """Filters of `list_mcp_tool_calls`; None means any. `since` inclusive, `until` exclusive."""

    config_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    chat_id: uuid.UUID | None = None
    tool: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 50
    offset: int = 0
