"""The MCP runtime: configs, credentials, pool and catalog cache, and governed tool calls.

One per server process, held in AppState.extras["mcp"]. It works outside requests (the
gateway's hot path must not touch the database per call), so configs and credentials are cached
and invalidated by change events (pubsub), with short TTLs as a backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog

from devplane import fastjson
from devplane.db.database import Database
from devplane.db.mcp_rows import MCPServerConfigRow
from devplane.mcp.catalog import Catalog, ServerStatus, ToolCache, ToolEntry, entries_for
from devplane.mcp.credentials import TokenSource, UpstreamAuth, resolve
from devplane.mcp.errors import MCPRuntimeError, SessionExpired, ToolNotAllowed
from devplane.mcp.naming import may_expose, tool_allowed
from devplane.mcp.pool import PoolKey, PoolSettings, UpstreamPool
from devplane.mcp.upstream import Progress, UpstreamSession

log = structlog.get_logger(__name__)

CONFIG_TTL = 30.0  # backstop if a change notification is ever missed
OAUTH2_AUTH_TTL = 30.0  # tokens are refreshed when within 60 s of expiry, so 30 s is always safe
STATIC_AUTH_TTL = 3600.0
# While the change listener is down (PostgreSQL LISTEN lost, e.g. at max_connections), other
# replicas' changes arrive by no event: every cache above is trusted this long at most.
UNSYNCED_TTL = 1.0


class ForcedServerUnavailable(MCPRuntimeError):
    """A force_on server failed: the catalog fails closed (an admin required it)."""


@dataclass(frozen=True)
class CallRecord:
    """One tool call, for the tool-call log and metrics. Sizes only: no arguments, no results."""

    started_at: float
    user_id: uuid.UUID
    chat_id: uuid.UUID | None
    config_id: uuid.UUID | None
    server_slug: str
    tool: str
    duration_ms: float
    outcome: str  # ok | tool_error | rpc_error | timeout | auth_required | error | denied
    error_class: str
    arguments_bytes: int
    result_bytes: int
    oauth2_app_id: uuid.UUID | None = None  # the OAuth client of a gateway call (issue 12)


Recorder = Callable[[CallRecord], None]


class MCPRuntime:
    def __init__(
        self,
        db: Database,
        tokens: TokenSource,
        *,
        pool: PoolSettings | None = None,
        catalog_ttl: float = 300.0,
        recorder: Recorder | None = None,
    ) -> None:
        self.db = db
        self.tokens = tokens
        self.pool = UpstreamPool(pool or PoolSettings())
        self.tool_cache = ToolCache(catalog_ttl)
        self.recorder = recorder
        self._configs: dict[uuid.UUID, MCPServerConfigRow] | None = None
        self._configs_at = 0.0
        self._configs_lock = asyncio.Lock()
        # Bumped by every invalidation: a load that overlapped one may hold rows from before the
        # change, so it must not become the cache (else the stale set lives for CONFIG_TTL).
        self._configs_generation = 0
        self._auth: dict[tuple[uuid.UUID, uuid.UUID, str], tuple[UpstreamAuth, float]] = {}
        # Perf (bench/): a config's catalog entries, memoized per raw tool list (identity), so a
        # call does not rebuild the catalog (schema deep copies, a task per server) every time.
        self._entries: dict[PoolKey, tuple[list[dict[str, Any]], list[ToolEntry]]] = {}
        self.pool.on_tools_changed = self.tool_cache.invalidate

    async def start(self) -> None:
        self.pool.start()

    async def close(self) -> None:
        await self.pool.close()

    # --- change events (local or from other replicas via pubsub) -------------------------------
    # An event arrives after its change committed, possibly after a request already used the new
    # state (a config used right after it was created, a token right after the user connected).
    # So what was built from the current state stays: only older versions and credentials go,
    # and an in-flight call on a fresh session is not cut by a late event.
    async def config_changed(self, config_id: uuid.UUID) -> None:
        self._forget_configs()
        keep: str | None = None
        try:
            current = (await self.configs()).get(config_id)
            if current is not None and current.enabled:
                keep = current.version
        except Exception as exc:  # the database is unreachable: assume nothing, keep nothing
            log.warning("mcp.runtime.config_reload_failed", error=type(exc).__name__)
        self.tool_cache.invalidate_config(config_id, keep_version=keep)
        self._entries = {k: v for k, v in self._entries.items() if k.config_id != config_id or k.config_version == keep}
        self._auth = {k: v for k, v in self._auth.items() if k[1] != config_id or k[2] == keep}
        await self.pool.invalidate_config(config_id, keep_version=keep)

    async def user_token_changed(self, config_id: uuid.UUID, user_id: uuid.UUID) -> None:
        self._auth = {k: v for k, v in self._auth.items() if not (k[0] == user_id and k[1] == config_id)}
        keep: str | None = None
        config = (self._configs or {}).get(config_id)
        if config is not None and self.pool.has_user(config_id, user_id):
            # Bounded: the handler runs before later events. The token was just stored, so this is
            # a read, not a refresh. No usable token (a disconnect) or no answer: keep nothing.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    keep = (await self._credentials(user_id, config)).fingerprint
        await self.pool.invalidate_user(config_id, user_id, keep_fingerprint=keep)

    async def reset(self) -> None:
        """Forget everything (e.g. the change listener lost its connection)."""
        self._forget_configs()
        self._auth.clear()
        self.tool_cache.clear()
        self._entries.clear()
        await self.pool.reset()

    # --- configs -------------------------------------------------------------------------------
    async def configs(self) -> dict[uuid.UUID, MCPServerConfigRow]:
        configs = self._configs
        if configs is not None and time.monotonic() - self._configs_at < self._ttl(CONFIG_TTL):
            return configs
        async with self._configs_lock:
            for _ in range(3):
                if self._configs is not None and time.monotonic() - self._configs_at < self._ttl(CONFIG_TTL):
                    return self._configs
                generation = self._configs_generation
                async with self.db.read_session() as tx:
                    rows = await tx.system("MCP runtime loads server configs").list_mcp_server_configs()
                loaded = {r.id: r for r in rows}
                if generation == self._configs_generation:
                    self._configs, self._configs_at = loaded, time.monotonic()
                    return loaded
            return loaded  # changes keep arriving: answer with the newest read, cache nothing

    def _ttl(self, synced: float) -> float:
        return synced if self.db.pubsub.listening else min(synced, UNSYNCED_TTL)

    def _forget_configs(self) -> None:
        self._configs = None
        self._configs_generation += 1

    async def effective_configs(self, selection: Iterable[uuid.UUID]) -> list[MCPServerConfigRow]:
        """(selection + enabled force_on) intersected with enabled."""
        configs = await self.configs()
        chosen = dict.fromkeys(selection)
        chosen.update(dict.fromkeys(c.id for c in configs.values() if c.availability == "force_on"))
        return [configs[i] for i in chosen if i in configs and configs[i].enabled]

    async def gateway_configs(self, slugs: Iterable[str]) -> list[MCPServerConfigRow]:
        """Enabled force_on and default_on servers, plus the enabled ones named by slug."""
        configs = await self.configs()
        named = set(slugs)
        return [
            c
            for c in configs.values()
            if c.enabled and (c.availability in ("force_on", "default_on") or c.slug in named)
        ]

    # --- credentials and sessions -------------------------------------------------------------
    async def _credentials(self, user_id: uuid.UUID, config: MCPServerConfigRow) -> UpstreamAuth:
        key = (user_id, config.id, config.version)
        cached = self._auth.get(key)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        auth = await resolve(config, user_id, self.tokens)
        ttl = self._ttl(OAUTH2_AUTH_TTL if config.auth_type == "oauth2" else STATIC_AUTH_TTL)
        self._auth[key] = (auth, now + ttl)
        return auth

    async def session(self, user_id: uuid.UUID, config: MCPServerConfigRow) -> tuple[PoolKey, UpstreamSession]:
        auth = await self._credentials(user_id, config)
        key = PoolKey(config.id, config.version, auth.fingerprint)
        session = await self.pool.get(key, url=config.url, transport=config.transport, auth=auth, user_id=user_id)
        return key, session

    # --- catalog -------------------------------------------------------------------------------
    async def raw_tools(
        self, user_id: uuid.UUID, config: MCPServerConfigRow, *, refresh: bool = False
    ) -> list[dict[str, Any]]:
        auth = await self._credentials(user_id, config)
        key = PoolKey(config.id, config.version, auth.fingerprint)
        tools = None if refresh else self.tool_cache.get(key)
        if tools is None:
            _, session = await self.session(user_id, config)
            tools = await session.list_tools()
            self.tool_cache.put(key, tools)
        return tools

    def _cached_entries(self, user_id: uuid.UUID, config: MCPServerConfigRow) -> list[ToolEntry] | None:
        """The config's catalog entries from the caches alone (no I/O), or None if any is cold.

        What `server_status` would list for a server whose tools are cached (it is then
        connected or no_tools, so a force_on one cannot fail closed either).
        """
        cached = self._auth.get((user_id, config.id, config.version))
        if cached is None or cached[1] <= time.monotonic():
            return None
        key = PoolKey(config.id, config.version, cached[0].fingerprint)
        tools = self.tool_cache.get(key)
        if tools is None:
            return None
        memo = self._entries.get(key)
        if memo is not None and memo[0] is tools:
            return memo[1]
        if len(self._entries) >= 10_000:
            self._entries.clear()  # bounded; stale keys (old credentials) would otherwise linger
        entries = entries_for(config, tools)
        self._entries[key] = (tools, entries)
        return entries

    def _find_cached(
        self, user_id: uuid.UUID, configs: list[MCPServerConfigRow], name: str
    ) -> tuple[bool, ToolEntry | None]:
        """(True, the entry `catalog(...).find(name)` would give) when every server is cached, else (False, None)."""
        found: ToolEntry | None = None
        for config in configs:
            entries = self._cached_entries(user_id, config)
            if entries is None:
                return False, None
            for entry in entries:
                # Same tie-break as the catalog's sort by (name, server id): the first wins.
                if entry.name == name and (found is None or str(entry.server_id) < str(found.server_id)):
                    found = entry
        return True, found

    async def server_status(self, user_id: uuid.UUID, config: MCPServerConfigRow, refresh: bool) -> ServerStatus:
        started = time.perf_counter()
        status, reason, entries = "connected", None, []
        try:
            # Bounded per server: one slow upstream cannot hold the others' catalog.
            async with asyncio.timeout(self.pool.settings.connect_timeout * 1.5):
                entries = entries_for(config, await self.raw_tools(user_id, config, refresh=refresh))
            if not entries:
                status = "no_tools"
        except MCPRuntimeError as exc:
            status, reason = exc.status, exc.reason
        except TimeoutError:
            status, reason = "timeout", f"no answer within {self.pool.settings.connect_timeout * 1.5:g}s"
        except Exception as exc:
            status, reason = "error", type(exc).__name__
            log.warning("mcp.catalog.server_failed", server=config.slug, error=type(exc).__name__)
        return ServerStatus(
            id=config.id,
            slug=config.slug,
            status=status,
            reason=reason,
            tool_count=len(entries),
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            availability=config.availability,
            tools=entries,
        )

    async def catalog(
        self, user_id: uuid.UUID, configs: list[MCPServerConfigRow], *, refresh: bool = False, fail_closed: bool = True
    ) -> Catalog:
        servers = list(await asyncio.gather(*(self.server_status(user_id, c, refresh) for c in configs)))
        servers.sort(key=lambda s: s.slug)
        if fail_closed:
            for server in servers:
                if server.availability == "force_on" and server.status not in ("connected", "no_tools"):
                    raise ForcedServerUnavailable(
                        f"MCP server '{server.slug}' is required by an administrator but is unavailable "
                        f"({server.status}{': ' + server.reason if server.reason else ''})."
                    )
        tools = sorted((t for s in servers for t in s.tools), key=lambda t: (t.name, str(t.server_id)))
        return Catalog(tools=tools, servers=servers)

    # --- calls ---------------------------------------------------------------------------------
    async def call(
        self,
        user_id: uuid.UUID,
        configs: list[MCPServerConfigRow],
        name: str,
        arguments: dict[str, Any] | None,
        *,
        meta: dict[str, Any] | None = None,
        progress: Progress | None = None,
        chat_id: uuid.UUID | None = None,
        log_message: Progress | None = None,
        oauth2_app_id: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        """Call an exposed tool. Returns {"result": ...} or {"error": {...}} as the upstream said.

        Raises ToolNotAllowed for unknown or filtered tools (the upstream is never contacted) and
        MCPRuntimeError subclasses for auth, timeout and upstream failures.
        """
        started, t0 = time.time(), time.perf_counter()
        # Only the servers that can own the name, and the force_on ones (they fail calls closed
        # too): an unrelated broken server must not cost every call its connect timeout.
        relevant = [c for c in configs if c.availability == "force_on" or may_expose(c.slug, name)]
        cached, entry = self._find_cached(user_id, relevant, name)
        if not cached:  # a cold server: the full catalog (connects, lists, may fail closed)
            entry = (await self.catalog(user_id, relevant)).find(name)
        config = next((c for c in relevant if entry is not None and c.id == entry.server_id), None)
        args_bytes = len(fastjson.dumps(arguments)) if arguments else 0
        outcome, error_class, result_bytes = "ok", "", 0
        try:
            if (
                entry is None
                or config is None
                or not tool_allowed(entry.tool_name, config.tool_allow_list, config.tool_deny_list)
            ):
                raise ToolNotAllowed(f"Unknown tool '{name}', or not allowed for you.")
            _, session = await self.session(user_id, config)
            params: dict[str, Any] = {"name": entry.tool_name, "arguments": arguments or {}}
            if meta:
                params["_meta"] = meta
            try:
                message = await session.call_tool(params, progress, log_message)
            except SessionExpired:
                # Not processed upstream (restarted, session forgotten, no connection): one resend on
                # a new session. A call whose request may have been processed is never resent.
                _, session = await self.session(user_id, config)
                message = await session.call_tool(params, progress, log_message)
            if "error" in message:
                outcome, error_class = "rpc_error", f"jsonrpc_{message['error'].get('code', 'unknown')}"
            elif (message.get("result") or {}).get("isError"):
                outcome = "tool_error"
            result_bytes = len(fastjson.dumps(message.get("result") or message.get("error")))
            return message
        except ToolNotAllowed:
            outcome, error_class = "denied", "ToolNotAllowed"
            raise
        except MCPRuntimeError as exc:
            outcome, error_class = exc.status, type(exc).__name__
            raise
        except Exception as exc:
            outcome, error_class = "error", type(exc).__name__
            raise
        finally:
            if self.recorder is not None:
                self.recorder(
                    CallRecord(
                        started_at=started,
                        user_id=user_id,
                        chat_id=chat_id,
                        config_id=entry.server_id if entry else None,
                        server_slug=entry.server_slug if entry else "",
                        tool=entry.tool_name if entry else name[:200],
                        duration_ms=round((time.perf_counter() - t0) * 1000, 2),
                        outcome=outcome,
                        error_class=error_class,
                        arguments_bytes=args_bytes,
                        result_bytes=result_bytes,
                        oauth2_app_id=oauth2_app_id,
                    )
                )
