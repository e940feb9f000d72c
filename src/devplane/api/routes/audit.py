"""The audit log (owner and auditor)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from devplane.api import convert
from devplane.api.deps import UserStore
from devplane.api.errors import ERROR_RESPONSES
from devplane.api.params import Limit, Offset
from devplane.db.rows import AuditLogFilter
from devplane.errors import BadRequest, FieldError
from devplane.sdk.audit import AuditLogsResponse
from devplane.sdk.paging import DEFAULT_LIMIT

router = APIRouter(prefix="/api/v2/audit", tags=["Audit"], responses=ERROR_RESPONSES)

_Q_KEYS = {"resource_type", "action", "username", "user_id", "resource_id", "since", "until"}


def parse_query(q: str) -> dict[str, str]:
    """`q` is space-separated `key:value` terms, like coder's search syntax."""
    terms: dict[str, str] = {}
    for term in q.split():
        key, sep, value = term.partition(":")
        if not sep or key not in _Q_KEYS or not value:
            raise BadRequest(
                "Invalid audit query.",
                validations=[
                    FieldError("q", f"'{term}' is not key:value with key one of {', '.join(sorted(_Q_KEYS))}.")
                ],
            )
        terms[key] = value
    return terms


def _time(terms: dict[str, str], key: str) -> dt.datetime | None:
    if key not in terms:
        return None
    try:
        value = dt.datetime.fromisoformat(terms[key])
    except ValueError:
        raise BadRequest(
            "Invalid audit query.",
            validations=[FieldError("q", f"{key} must be an ISO 8601 time, e.g. 2026-01-31T12:00:00Z.")],
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@router.get("", summary="Search the audit log")
async def list_audit_logs(
    store: UserStore,
    q: Annotated[
        str, Query(max_length=1024, description="e.g. `resource_type:user action:create username:alice`")
    ] = "",
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> AuditLogsResponse:
    terms = parse_query(q)
    user_id = None
    if "user_id" in terms:
        try:
            user_id = uuid.UUID(terms["user_id"])
        except ValueError:
            raise BadRequest("Invalid audit query.", validations=[FieldError("q", "user_id must be a UUID.")]) from None
    flt = AuditLogFilter(
        resource_type=terms.get("resource_type"),
        action=terms.get("action"),
        username=terms.get("username"),
        user_id=user_id,
        resource_id=terms.get("resource_id"),
        since=_time(terms, "since"),
        until=_time(terms, "until"),
        limit=limit,
        offset=offset,
    )
    rows, count = await store.list_audit_logs(flt)
    return AuditLogsResponse(audit_logs=[convert.audit_log(r) for r in rows], count=count)
