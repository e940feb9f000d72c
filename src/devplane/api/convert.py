"""Row -> wire type conversions. Responses are built only from these, never from rows directly."""

from __future__ import annotations

from devplane.db.mcp_rows import MCPToolCallRow
from devplane.db.rows import APIKeyRow, AuditLogRow, UserRow
from devplane.sdk.audit import AuditDiffEntry, AuditLog
from devplane.sdk.mcp_tool_calls import MCPToolCall
from devplane.sdk.users import APIKey, RoleName, User, UserStatus


def user(row: UserRow, *, show_email: bool) -> User:
    return User(
        id=row.id,
        username=row.username,
        email=row.email if show_email else None,
        roles=[RoleName(r) for r in row.roles],
        status=UserStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_seen_at=row.last_seen_at,
    )


def api_key(row: APIKeyRow) -> APIKey:
    return APIKey(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        login_type=row.login_type,
        lifetime_seconds=row.lifetime_seconds,
        expires_at=row.expires_at,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def audit_log(row: AuditLogRow) -> AuditLog:
    return AuditLog(
        id=row.id,
        time=row.time,
        user_id=row.user_id,
        username=row.username,
        action=row.action,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        resource_target=row.resource_target,
        ip=row.ip,
        user_agent=row.user_agent,
        request_id=row.request_id,
        status_code=row.status_code,
        diff={k: AuditDiffEntry.model_validate(v) for k, v in row.diff.items()},
    )


def mcp_tool_call(row: MCPToolCallRow) -> MCPToolCall:
    return MCPToolCall(
        id=row.id,
        created_at=row.created_at,
        user_id=row.user_id,
        chat_id=row.chat_id,
        server_id=row.mcp_server_config_id,
        server_slug=row.server_slug,
        tool=row.tool,
        duration_ms=row.duration_ms,
        outcome=row.outcome,
        error_class=row.error_class,
        arguments_bytes=row.arguments_bytes,
        result_bytes=row.result_bytes,
        oauth2_app_id=row.oauth2_app_id,
    )
