"""create_app(): the ASGI application, its lifespan and its routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from devplane import __version__
from devplane.api import errors
from devplane.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from devplane.api.routes import (
    audit,
    chats,
    health,
    keys,
    mcp,
    mcp_oauth,
    mcp_runtime,
    mcp_tool_calls,
    metrics,
    users,
)
from devplane.api.state import AppState
from devplane.config import Settings
from devplane.db.database import Database
from devplane.mcp.calllog import ToolCallLog, fan_out
from devplane.mcp.gateway import Gateway
from devplane.mcp.metrics import MCPMetrics
from devplane.mcp.pool import PoolSettings
from devplane.mcp.runtime import MCPRuntime
from devplane.mcp.tokencache import TokenCache
from devplane.mcp.tokens import token_source
from devplane.services import events
from devplane.services.keys import check_keys, load_keyring
from devplane.services.ratelimit import RateLimiter
from devplane.web import app as web_app

log = structlog.get_logger(__name__)
GATEWAY_PATH = "/api/experimental/mcp/gateway"


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
    state = AppState(settings=settings, db=db, login_limiter=limiter)
    await start_mcp(state)
    await db.pubsub.start()  # after start_mcp subscribed, so no change goes unheard
    return state


async def start_mcp(state: AppState) -> None:
    """The MCP runtime, the gateway's token cache, and the gateway itself."""
    settings = state.settings
    pool = PoolSettings(
        connect_timeout=settings.mcp_connect_timeout_seconds,
        call_timeout=settings.mcp_call_timeout_seconds,
        max_result_bytes=settings.mcp_max_result_bytes,
        idle_seconds=settings.mcp_session_idle_seconds,
    )
    # One recorder for both: the tool-call log (queued, written in batches) and the metrics.
    calls, call_metrics = ToolCallLog(state.db), MCPMetrics()
    recorder = fan_out(calls.record, call_metrics.observe)
    runtime = MCPRuntime(
        state.db, token_source(state.db), pool=pool, catalog_ttl=settings.mcp_catalog_ttl_seconds, recorder=recorder
    )
    await runtime.start()
    calls.start()
    state.extras.update(tool_call_log=calls, mcp_metrics=call_metrics)
    # Config and token changes, from this replica or another, reach the runtime's caches and pool;
    # a listener that lost its connection may have missed some, so then everything is dropped.
    state.db.pubsub.subscribe(events.handler_for(runtime))
    state.db.pubsub.on_reset(runtime.reset)
    tokens = TokenCache(state.db, ttl=settings.token_cache_seconds)
    state.extras.update(
        mcp=runtime,
        tokens=tokens,
        gateway=Gateway(
            runtime,
            tokens,
            experiment_enabled="agents" in settings.enabled_experiments,
            access_url=settings.effective_access_url,
        ),
    )


async def stop(state: AppState) -> None:
    await state.db.pubsub.close()
    runtime: MCPRuntime | None = state.extras.get("mcp")
    if runtime is not None:
        await runtime.close()
    calls: ToolCallLog | None = state.extras.get("tool_call_log")
    if calls is not None:
        await calls.close()  # after the runtime: no call is left to record
    await state.db.dispose()


class _GatewayEndpoint:
    """ASGI shim: the gateway is built by the lifespan, after routes are declared."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app.state.devplane.extras["gateway"](scope, receive, send)


class DevplaneApp(FastAPI):
    """FastAPI, with the MCP gateway's exact path served ahead of the framework's layers.

    Perf (docs/benchmarks.md): for a gateway call, FastAPI's router (which tries every route of
    every router first), Starlette's error middleware, FastAPI's telemetry and body-limit layers
    and their send wrappers cost about a fifth of devplane's CPU per call, and the gateway uses
    none of them. It still gets our request id, access log and body limit (`gateway_stack` is
    built from the same middleware classes), and it answers its own errors: every failure of a
    call becomes a JSON-RPC answer. Any other path, or a prefixed one, takes the normal stack.
    """

    gateway_stack: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.gateway_stack is not None and scope["type"] == "http" and scope["path"] == GATEWAY_PATH:
            await self.gateway_stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


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
                await stop(app.state.devplane)

    app = DevplaneApp(
        title="devplane",
        version=__version__,
        summary="Self-hosted control plane for development workspaces and AI agents.",
        openapi_url="/api/v2/openapi.json",
        docs_url=None,  # served by devplane.web from pinned local files (no CDN)
        redoc_url=None,
        lifespan=lifespan,
    )
    if state is not None:
        app.state.devplane = state
    errors.install(app)
    for module in (health, users, keys, audit, mcp, mcp_oauth, chats, mcp_runtime, mcp_tool_calls, metrics):
        app.include_router(module.router)
    gateway = _GatewayEndpoint(app)
    app.router.routes.append(Route(GATEWAY_PATH, gateway, include_in_schema=False))  # for prefixed paths
    app.gateway_stack = RequestContextMiddleware(BodyLimitMiddleware(gateway, max_bytes=settings.max_body_bytes))
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    # --- web UI (issue 11): pages, static files, /api/v2/docs, browser security (CSP, CSRF) ---
    web_app.install(app, settings)
    app.add_middleware(RequestContextMiddleware)
    return app
