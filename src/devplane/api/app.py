"""create_app(): the ASGI application, its lifespan and its routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from devplane import __version__
from devplane.api import errors
from devplane.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from devplane.api.routes import audit, chats, health, keys, mcp, users
from devplane.api.state import AppState
from devplane.config import Settings
from devplane.db.database import Database
from devplane.services.keys import check_keys, load_keyring
from devplane.services.ratelimit import RateLimiter

log = structlog.get_logger(__name__)


async def start(settings: Settings) -> AppState:
    """Everything the server needs before it takes a request: schema, keys, limiter."""
    if settings.uses_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    keyring = load_keyring(settings)
    db = Database(settings.database_url, keyring)
    try:
        await db.migrate()
        await check_keys(db)
    except BaseException:
        await db.dispose()
        raise
    limiter = RateLimiter(settings.login_rate_limit, settings.login_rate_window_seconds)
    return AppState(settings=settings, db=db, login_limiter=limiter)


def create_app(settings: Settings, state: AppState | None = None) -> FastAPI:
    """Build the app. Pass `state` to reuse an already-started one (tests); else the lifespan starts it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = state is None
        app.state.devplane = state if state is not None else await start(settings)
        log.info(
            "server.started",
            access_url=settings.effective_access_url,
            database="sqlite" if settings.uses_sqlite else "postgresql",
            experiments=settings.enabled_experiments,
        )
        try:
            yield
        finally:
            if own:
                await app.state.devplane.db.dispose()

    app = FastAPI(
        title="devplane",
        version=__version__,
        summary="Self-hosted control plane for development workspaces and AI agents.",
        openapi_url="/api/v2/openapi.json",
        docs_url="/api/v2/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    if state is not None:
        app.state.devplane = state
    errors.install(app)
    for module in (health, users, keys, audit, mcp, chats):
        app.include_router(module.router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    return app
