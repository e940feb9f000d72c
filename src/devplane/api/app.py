"""create_app(): the ASGI application, its lifespan and its routers."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devplane import __version__
from devplane.api import errors, openapi_extras
from devplane.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from devplane.api.routes import (
    audit,
    chat_models,
    chat_stream,
    chat_turns,
    chats,
    health,
    keys,
    mcp,
    mcp_oauth,
    mcp_runtime,
    mcp_tool_calls,
    metrics,
    oauth2_admin,
    oauth2_authorize,
    oauth2_provider,
    users,
)
from devplane.api.state import AppState
from devplane.chat.hub import ChatHub
from devplane.chat.loop import LoopSettings, TurnRunner
from devplane.chat.providers.registry import make_client
from devplane.chat.worker import ChatWorker
from devplane.config import Settings
from devplane.db.database import Database
from devplane.mcp.calllog import ToolCallLog, fan_out
from devplane.mcp.gateway import Gateway
from devplane.mcp.gateway_oauth2 import GatewayOAuth2
from devplane.mcp.metrics import MCPMetrics
from devplane.mcp.pool import PoolSettings
from devplane.mcp.runtime import MCPRuntime
from devplane.mcp.tokencache import TokenCache
from devplane.mcp.tokens import token_source
from devplane.services import chat_turns as chat_turns_svc
from devplane.services import events
from devplane.services.keys import check_keys, load_keyring
from devplane.services.oauth2_urls import canonical_resource
from devplane.services.ratelimit import RateLimiter
from devplane.web import app as web_app

log = structlog.get_logger(__name__)
GATEWAY_PATH = "/api/experimental/mcp/gateway"


async def start(settings: Settings) -> AppState:
    """Everything the server needs before it takes a request: schema, keys, limiter."""
    if settings.uses_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    keyring = load_keyring(settings)
    db = Database(settings.database_url, keyring, timeout=settings.database_timeout_seconds)
    try:
        await db.migrate()
        await check_keys(db)
    except BaseException:
        await db.dispose()
        raise
    limiter = RateLimiter(settings.login_rate_limit, settings.login_rate_window_seconds)
    state = AppState(settings=settings, db=db, login_limiter=limiter)
    await start_mcp(state)
    start_chat_worker(state)  # chat loop (issue 10)
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
            oauth2=gateway_oauth2(settings),
        ),
    )


def gateway_oauth2(settings: Settings) -> GatewayOAuth2 | None:
    """OAuth2 provider (issue 12): the gateway's resource identity, when the provider is on."""
    if not settings.oauth2_provider_enable:
        return None
    resource = canonical_resource(settings.effective_access_url + GATEWAY_PATH)
    assert resource is not None  # the access URL is validated as absolute http(s)
    metadata = f"{settings.effective_access_url}/.well-known/oauth-protected-resource{GATEWAY_PATH}"
    return GatewayOAuth2(resource=resource, resource_metadata=metadata)


# --- chat loop (issue 10) ------------------------------------------------------------------------------
def start_chat_worker(state: AppState) -> ChatWorker:
    """This replica's chat worker: it runs the turns of pending chats (never inside a request)."""
    settings = state.settings
    hub = ChatHub()
    state.extras["chat_hub"] = hub
    # Commits on any replica wake this replica's streams of that chat (they re-read the database).
    state.db.pubsub.subscribe(_hint_streams(hub))
    runner = TurnRunner(
        state.db,
        state.extras["mcp"],
        lambda p: make_client(p.provider, api_key=p.api_key or None, base_url=p.base_url or None),
        LoopSettings(
            max_steps=settings.chat_max_steps,
            tool_result_max_bytes=settings.chat_tool_result_max_bytes,
            silence_seconds=settings.chat_stream_silence_seconds,
        ),
        publish=hub.publish,
    )
    worker = ChatWorker(
        state.db,
        runner,
        lease_seconds=settings.chat_worker_lease_seconds,
        concurrency=settings.chat_worker_concurrency,
    )
    worker.start()
    state.extras["chat_worker"] = worker
    return worker


def _hint_streams(hub: ChatHub) -> Callable[[dict[str, Any]], Awaitable[None]]:
    async def handle(event: dict[str, Any]) -> None:
        if event.get("type") == chat_turns_svc.CHAT_UPDATE:
            with contextlib.suppress(KeyError, ValueError, TypeError):
                hub.hint(uuid.UUID(event["chat_id"]))

    return handle


async def stop(state: AppState) -> None:
    worker: ChatWorker | None = state.extras.get("chat_worker")
    if worker is not None:
        await worker.stop()  # first: it hands running chats back while the database is still there
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
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        await _keep_connection(super().__call__, scope, receive, send)


async def _keep_connection(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Starlette answers an unexpected exception with our 500 envelope (api/errors.py) and then
    re-raises it "for the server to log"; uvicorn, seeing an exception after a response began,
    closes the connection without `Connection: close`, so a keep-alive client's next request
    fails (issue 9). Once the answer is complete the exception is already logged and answered:
    swallow it. An answer cut short still raises (the connection must then close)."""
    complete = False

    async def tracking_send(message: Message) -> None:
        nonlocal complete
        await send(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            complete = True

    try:
        await app(scope, receive, tracking_send)
    except Exception:
        if not complete:
            raise


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
    # --- OpenAPI: the body limit's 413 and links from creates (issue 9) ---
    openapi_extras.install(app)
    # chat loop (issue 10): before `chats`, whose /chats/{chat_id} would take /chats/providers.
    app.include_router(chat_models.router)
    app.include_router(chat_turns.router)
    app.include_router(chat_stream.router)
    for module in (health, users, keys, audit, mcp, mcp_oauth, chats, mcp_runtime, mcp_tool_calls, metrics):
        app.include_router(module.router)
    # --- OAuth2 provider (issue 12): the protocol routers answer 404 while it is switched off.
    for module in (oauth2_admin, oauth2_provider, oauth2_authorize):
        app.include_router(module.router)
    gateway = _GatewayEndpoint(app)
    app.router.routes.append(Route(GATEWAY_PATH, gateway, include_in_schema=False))  # for prefixed paths
    app.gateway_stack = RequestContextMiddleware(BodyLimitMiddleware(gateway, max_bytes=settings.max_body_bytes))
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    # --- web UI (issue 11): pages, static files, /api/v2/docs, browser security (CSP, CSRF) ---
    web_app.install(app, settings)
    app.add_middleware(RequestContextMiddleware)
    return app
