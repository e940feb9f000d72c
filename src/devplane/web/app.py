"""Mounts the web UI on the API's app: page routers, static files, the API docs page, the
browser security middleware, and HTML renderings of errors for page paths."""

from __future__ import annotations

import inspect
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from devplane.config import Settings
from devplane.errors import DomainError
from devplane.web import assets, docs, security
from devplane.web.routes import account, audit, auth, chats, mcp_admin, users_admin
from devplane.web.session import LoginRequired, login_url
from devplane.web.templating import render

ROUTERS = (
    assets.router,
    docs.router,
    auth.router,
    mcp_admin.router,
    users_admin.router,
    audit.router,
    account.router,
    chats.router,
)


# Machine endpoints outside /api keep the JSON envelope (or their own protocol's error bodies):
# OAuth2 and its metadata documents, and the probes. Everything else is a page.
_MACHINE_PREFIXES = ("/api/", "/.well-known/", "/oauth2/")
_MACHINE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _is_page(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(_MACHINE_PREFIXES) and path not in _MACHINE_PATHS


def install(app: FastAPI, settings: Settings) -> None:
    for router in ROUTERS:
        app.include_router(router)
    api_domain_handler = app.exception_handlers[DomainError]

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        target = login_url(exc.next_path)
        if request.headers.get("hx-request"):
            # A fragment cannot show a login page: htmx follows HX-Redirect with a full navigation.
            return HTMLResponse("", status_code=401, headers={"HX-Redirect": target, "Cache-Control": "no-store"})
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if not _is_page(request):
            response = api_domain_handler(request, exc)
            return await response if inspect.isawaitable(response) else response
        title = HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else "Error"
        if request.headers.get("hx-request"):
            return render(request, "_alert.html", status=exc.status_code, message=exc.message, detail=exc.detail or "")
        return render(
            request, "error.html", status=exc.status_code, title=title, message=exc.message, detail=exc.detail or ""
        )

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(DomainError, domain_error)
    app.add_middleware(security.BrowserSecurityMiddleware, access_url=settings.effective_access_url)
