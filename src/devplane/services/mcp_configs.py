"""Admin-managed MCP server configurations: validation, merge rules, redaction, audit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

from devplane.authz.authorizer import Object
from devplane.authz.policy import Action, Resource
from devplane.db.mcp_rows import MCPServerConfigRow, MCPServerUserTokenRow
from devplane.db.store import Store
from devplane.errors import BadRequest, FieldError, Forbidden, NotFound
from devplane.sdk.mcp import (
    AuthType,
    CreateMCPServerConfigRequest,
    MCPServerConfig,
    UpdateMCPServerConfigRequest,
)
from devplane.services import audit, events
from devplane.services.context import RequestContext
from devplane.services.users import can

RESOURCE = "mcp_server_config"
DEPLOYMENT = Object(Resource.DEPLOYMENT_CONFIG)
SECRET_FIELDS = ("oauth2_client_secret", "api_key_value", "custom_headers")
OAUTH2_FIELDS = (
    "oauth2_client_id",
    "oauth2_client_secret",
    "oauth2_auth_url",
    "oauth2_token_url",
    "oauth2_revocation_url",
    "oauth2_scopes",
)
API_KEY_FIELDS = ("api_key_header", "api_key_value")
HEADER_FIELDS = ("custom_headers",)
_FIELDS_BY_AUTH = {
    AuthType.NONE: (),
    AuthType.OAUTH2: OAUTH2_FIELDS,
    AuthType.API_KEY: API_KEY_FIELDS,
    AuthType.CUSTOM_HEADERS: HEADER_FIELDS,
}
_CLEARED: dict[str, Any] = dict.fromkeys(OAUTH2_FIELDS + API_KEY_FIELDS, "")
_CLEARED.update(custom_headers="{}", custom_header_names=())


def is_admin(store: Store) -> bool:
    """coder: admins are those who may read deployment config (owners and auditors)."""
    return can(store, Action.READ, DEPLOYMENT)


def require_write(store: Store) -> None:
    """Writes need deployment_config update (owners). Checked before the config is read, so a
    member or auditor gets 403 on every write instead of a 404 from the read."""
    if not can(store, Action.UPDATE, DEPLOYMENT):
        raise Forbidden("Only administrators can manage MCP server configs.")


def headers_of(row: MCPServerConfigRow) -> dict[str, str]:
    parsed: dict[str, str] = json.loads(row.custom_headers or "{}")
    return parsed


def token_usable(token: MCPServerUserTokenRow | None, now: dt.datetime) -> bool:
    """Unexpired or refreshable, and not marked failed."""
    if token is None or token.refresh_failure_reason:
        return False
    return token.expiry is None or token.expiry > now or bool(token.refresh_token)


def view(row: MCPServerConfigRow, *, admin: bool, connected: bool) -> MCPServerConfig:
    redact = not admin
    return MCPServerConfig(
        id=row.id,
        display_name=row.display_name,
        slug=row.slug,
        description=row.description,
        icon_url=row.icon_url,
        transport="" if redact else row.transport,
        url="" if redact else row.url,
        auth_type=AuthType(row.auth_type),
        oauth2_client_id="" if redact else row.oauth2_client_id,
        has_oauth2_secret=bool(row.oauth2_client_secret),
        oauth2_auth_url="" if redact else row.oauth2_auth_url,
        oauth2_token_url="" if redact else row.oauth2_token_url,
        oauth2_revocation_url="" if redact else row.oauth2_revocation_url,
        oauth2_scopes="" if redact else row.oauth2_scopes,
        api_key_header="" if redact else row.api_key_header,
        has_api_key=bool(row.api_key_value),
        has_custom_headers=bool(row.custom_header_names),
        custom_header_names=[] if redact else list(row.custom_header_names),
        tool_allow_list=list(row.tool_allow_list),
        tool_deny_list=list(row.tool_deny_list),
        availability=row.availability,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
        auth_connected=connected,
    )


async def connected_ids(store: Store, user_id: uuid.UUID) -> set[uuid.UUID]:
    tokens = await store.as_system(reason="compute auth_connected").list_mcp_server_user_tokens_by_user_id(user_id)
    now = dt.datetime.now(dt.UTC)
    return {t.mcp_server_config_id for t in tokens if token_usable(t, now)}


async def views(store: Store, user_id: uuid.UUID, rows: list[MCPServerConfigRow]) -> list[MCPServerConfig]:
    admin = is_admin(store)
    connected = await connected_ids(store, user_id) if any(r.auth_type == "oauth2" for r in rows) else set()
    return [view(r, admin=admin, connected=r.auth_type != "oauth2" or r.id in connected) for r in rows]


async def list_visible(store: Store) -> list[MCPServerConfigRow]:
    if is_admin(store):
        return await store.list_mcp_server_configs()
    return await store.as_system(reason="members list enabled MCP server configs").list_enabled_mcp_server_configs()


async def get_visible(store: Store, config_id: uuid.UUID) -> MCPServerConfigRow:
    if is_admin(store):
        return await store.get_mcp_server_config_by_id(config_id)
    row = await store.as_system(reason="members read an enabled MCP server config").get_mcp_server_config_by_id(
        config_id
    )
    if not row.enabled:
        raise NotFound("MCP server config not found.")
    return row


def _validate(row: MCPServerConfigRow) -> None:
    """Cross-field rules on the merged state (create and update alike)."""
    missing: list[FieldError] = []
    auth = AuthType(row.auth_type)
    if auth is AuthType.OAUTH2:
        for name in ("oauth2_client_id", "oauth2_auth_url", "oauth2_token_url"):
            if not getattr(row, name):
                missing.append(FieldError(name, "Required when auth_type is oauth2."))
        if missing:
            raise BadRequest(
                "OAuth2 auth type requires oauth2_client_id, oauth2_auth_url, and oauth2_token_url.",
                validations=missing,
            )
    elif auth is AuthType.API_KEY:
        for name in API_KEY_FIELDS:
            if not getattr(row, name):
                missing.append(FieldError(name, "Required when auth_type is api_key."))
        if missing:
            raise BadRequest("API key auth type requires api_key_header and api_key_value.", validations=missing)
    elif auth is AuthType.CUSTOM_HEADERS and not row.custom_header_names:
        raise BadRequest(
            "Custom headers auth type requires at least one header.",
            validations=[FieldError("custom_headers", "Give at least one header.")],
        )
    foreign = [
        name
        for other, names in _FIELDS_BY_AUTH.items()
        if other is not auth
        for name in names
        if name != "custom_headers" and getattr(row, name)
    ]
    if auth is not AuthType.CUSTOM_HEADERS and row.custom_header_names:
        foreign.append("custom_headers")
    if foreign:
        raise BadRequest(
            f"Fields of another auth type were given with auth_type {auth.value}.",
            validations=[FieldError(n, f"Only used with another auth_type than {auth.value}.") for n in foreign],
        )


def _apply(row: MCPServerConfigRow, values: dict[str, Any]) -> MCPServerConfigRow:
    changes = dict(values)
    if "custom_headers" in changes:
        headers: dict[str, str] = changes["custom_headers"]
        changes["custom_headers"] = json.dumps(headers, sort_keys=True) if headers else "{}"
        changes["custom_header_names"] = tuple(sorted(headers))
    for name in ("tool_allow_list", "tool_deny_list"):
        if name in changes:
            changes[name] = tuple(changes[name])
    for name in ("transport", "auth_type", "availability"):
        if name in changes:
            changes[name] = str(changes[name].value)
    return dataclasses.replace(row, **changes)


def _audit_view(row: MCPServerConfigRow) -> dict[str, Any]:
    data = {f.name: getattr(row, f.name) for f in dataclasses.fields(row) if not f.name.endswith("_key_id")}
    for name in ("created_at", "updated_at", "created_by", "updated_by", "id"):
        data.pop(name)
    for name in SECRET_FIELDS:
        # Unset is None, so a create without a secret does not log "[secret changed]" for it.
        if data[name] in ("", "{}"):
            data[name] = None
    return data


async def create(store: Store, ctx: RequestContext, req: CreateMCPServerConfigRequest) -> MCPServerConfigRow:
    require_write(store)
    now = dt.datetime.now(dt.UTC)
    blank = MCPServerConfigRow.blank(at=now, created_by=ctx.user_id)
    row = _apply(blank, req.model_dump())
    _validate(row)
    stored = await store.insert_mcp_server_config(row)
    await events.config_changed(store, stored.id)
    await audit.record(
        store,
        ctx,
        action="create",
        resource_type=RESOURCE,
        resource_id=stored.id,
        target=stored.slug,
        status_code=201,
        changes=audit.diff(None, _audit_view(stored), secret_fields=SECRET_FIELDS),
    )
    return stored


async def update(
    store: Store, ctx: RequestContext, config_id: uuid.UUID, req: UpdateMCPServerConfigRequest
) -> MCPServerConfigRow:
    require_write(store)
    given = {name: getattr(req, name) for name in req.model_fields_set}
    nulls = [name for name, value in given.items() if value is None]
    if nulls:
        raise BadRequest(
            "Fields may be omitted but not null.",
            validations=[FieldError(n, "Omit the field to keep its value.") for n in nulls],
        )
    current = await store.get_mcp_server_config_by_id(config_id, for_update=True)
    merged = current
    new_auth = given.get("auth_type")
    if new_auth is not None and new_auth.value != current.auth_type:
        # Changing auth type drops the other types' fields and secrets before applying the patch.
        keep = set(_FIELDS_BY_AUTH[new_auth])
        if new_auth is AuthType.CUSTOM_HEADERS:
            keep.add("custom_header_names")
        merged = dataclasses.replace(merged, **{k: v for k, v in _CLEARED.items() if k not in keep})
    merged = _apply(merged, given)
    merged = dataclasses.replace(merged, updated_by=ctx.user_id, updated_at=dt.datetime.now(dt.UTC))
    _validate(merged)
    stored = await store.update_mcp_server_config(merged)
    await events.config_changed(store, stored.id)
    changes = audit.diff(_audit_view(current), _audit_view(stored), secret_fields=SECRET_FIELDS)
    if changes:
        await audit.record(
            store,
            ctx,
            action="write",
            resource_type=RESOURCE,
            resource_id=stored.id,
            target=stored.slug,
            status_code=200,
            changes=changes,
        )
    return stored


async def delete(store: Store, ctx: RequestContext, config_id: uuid.UUID) -> None:
    require_write(store)
    # Locked first: a chat saving a selection with this config holds it (services/chats.py), so
    # we wait for that chat to commit and the delete then strips the id from it.
    current = await store.get_mcp_server_config_by_id(config_id, for_update=True)
    await store.delete_mcp_server_config(config_id)
    await events.config_changed(store, config_id)
    await audit.record(
        store,
        ctx,
        action="delete",
        resource_type=RESOURCE,
        resource_id=config_id,
        target=current.slug,
        status_code=204,
        changes=audit.diff(_audit_view(current), None, secret_fields=SECRET_FIELDS),
    )
