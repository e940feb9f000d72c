"""`/api/v2/docs`: Swagger UI from devplane's own pinned copy (no CDN, no foreign favicon),
started by an external script file so the page keeps the strict CSP."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from devplane.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/api/v2/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return render(request, "docs.html")
