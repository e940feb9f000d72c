"""Audit entries, written in the caller's transaction. Secret fields never appear in a diff."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from devplane.db.rows import AuditLogRow
from devplane.db.store import Store
from devplane.services.context import RequestContext

SECRET_CHANGED = "[secret changed]"  # noqa: S105 - a placeholder shown instead of secrets


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | dt.datetime):
        return str(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def diff(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, *, secret_fields: Collection[str] = ()
) -> dict[str, Any]:
    """coder-style diff: {field: {old, new, secret}} for every changed field."""
    old, new = old or {}, new or {}
    out: dict[str, Any] = {}
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key in secret_fields:
            out[key] = {"old": SECRET_CHANGED, "new": SECRET_CHANGED, "secret": True}
        else:
            out[key] = {"old": _jsonable(before), "new": _jsonable(after), "secret": False}
    return out


async def record(
    store: Store,
    ctx: RequestContext,
    *,
    action: str,
    resource_type: str,
    resource_id: object = "",
    target: str = "",
    status_code: int = 200,
    changes: dict[str, Any] | None = None,
    user_id: uuid.UUID | None = None,
    username: str | None = None,
) -> None:
    await store.as_system(reason="write audit entry").insert_audit_log(
        AuditLogRow(
            id=uuid.uuid4(),
            time=dt.datetime.now(dt.UTC),
            user_id=user_id if user_id is not None else ctx.user_id,
            username=username if username is not None else ctx.username,
            action=action,
            resource_type=resource_type,
            resource_id=str(resource_id),
            resource_target=target,
            ip=ctx.ip,
            user_agent=ctx.user_agent[:512],
            request_id=ctx.request_id,
            status_code=status_code,
            diff=changes or {},
        )
    )
