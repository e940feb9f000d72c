"""/admin/audit: the audit log, filters as GET parameters so a view can be linked."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from devplane.db.rows import AuditLogFilter
from devplane.errors import NotFound
from devplane.web.session import PageViewer
from devplane.web.templating import render

router = APIRouter(prefix="/admin/audit", include_in_schema=False)
PAGE = 50


def _time(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC) if parsed and parsed.tzinfo is None else parsed


@router.get("")
async def audit_page(
    request: Request,
    viewer: PageViewer,
    username: str = "",
    resource_type: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
    page: int = 1,
) -> Response:
    if not viewer.can_read_audit:
        raise NotFound("Page not found.")
    page = max(1, min(page, 10_000))
    filters = {
        "username": username[:128],
        "resource_type": resource_type[:64],
        "action": action[:64],
        "since": since[:40],
        "until": until[:40],
    }
    flt = AuditLogFilter(
        username=filters["username"] or None,
        resource_type=filters["resource_type"] or None,
        action=filters["action"] or None,
        since=_time(filters["since"]),
        until=_time(filters["until"]),
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )
    rows, count = await viewer.store.list_audit_logs(flt)
    kept = {k: v for k, v in filters.items() if v}

    def link(n: int) -> str:
        return "/admin/audit?" + urlencode({**kept, "page": n})

    return render(
        request,
        "audit.html",
        viewer,
        rows=rows,
        count=count,
        page=page,
        pages=max(1, (count + PAGE - 1) // PAGE),
        filters=filters,
        prev_url=link(page - 1) if page > 1 else "",
        next_url=link(page + 1) if page * PAGE < count else "",
    )
