"""The gateway's prompts, resources and completion, federated across the caller's servers.

Same governance as tools: the caller's servers are the gateway's config set for the request
(availability, selection, chat), so a server the caller may not use contributes nothing, and a
disabled one is gone as soon as the runtime's configs are (change events). Naming
(docs/decisions/0008): prompts are `<slug>__<name>` like tools; resource URIs and URI templates
are `devplane+mcp://<slug>/<original>`, the original verbatim. Pagination: every upstream page
is fetched (bounded) and cached, and the gateway answers each list in one page.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from devplane.db.mcp_rows import MCPServerConfigRow
from devplane.mcp.errors import AuthRequired, MCPRuntimeError, SessionExpired
from devplane.mcp.naming import exposed_name, may_expose
from devplane.mcp.runtime import ForcedServerUnavailable, MCPRuntime
from devplane.mcp.upstream import UpstreamSession

log = structlog.get_logger(__name__)

SCHEME = "devplane+mcp://"
INVALID_PARAMS, INTERNAL_ERROR = -32602, -32603
RESOURCE_NOT_FOUND = -32002  # the MCP spec's code for resources/read of an unknown URI

# list kind -> (the server capability it needs, the result's list field, the renamed field)
KINDS: dict[str, tuple[str, str, str]] = {
    "prompts": ("prompts", "prompts", "name"),
    "resources": ("resources", "resources", "uri"),
    "templates": ("resources", "resourceTemplates", "uriTemplate"),
}
LIST_METHODS = {"prompts/list": "prompts", "resources/list": "resources", "resources/templates/list": "templates"}
EMPTY_COMPLETION: dict[str, Any] = {"completion": {"values": [], "hasMore": False}}


class FederationError(Exception):
    """A JSON-RPC error for the gateway client: a code and a secret-free message."""

    def __init__(self, code: int, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(message)


def wrap_uri(slug: str, uri: str) -> str:
    """The gateway's URI for a server's resource (or template): the original kept verbatim.

    Verbatim, not percent-encoded, so a template's `{var}` expressions still expand exactly as
    they would against the server, and the round trip is byte-exact.
    """
    return f"{SCHEME}{slug}/{uri}"


def unwrap_uri(uri: str) -> tuple[str, str] | None:
    """(slug, original URI) of a gateway URI, or None if it is not one."""
    if not uri.startswith(SCHEME):
        return None
    slug, sep, original = uri[len(SCHEME) :].partition("/")
    if not sep or not slug or not original:
        return None
    return slug, original


def _rename(slug: str, kind: str, item: dict[str, Any]) -> dict[str, Any]:
    field = KINDS[kind][2]
    value = str(item.get(field, ""))
    return {**item, field: exposed_name(slug, value) if kind == "prompts" else wrap_uri(slug, value)}


class Federation:
    def __init__(self, runtime: MCPRuntime) -> None:
        self.runtime = runtime

    # --- initialize ----------------------------------------------------------------------
    async def capabilities(self, user_id: uuid.UUID, configs: list[MCPServerConfigRow]) -> dict[str, Any]:
        """What the gateway serves: tools always; prompts, resources and completions when at
        least one of the caller's servers offers them (unreachable servers count as offering
        nothing: initialize never fails for an upstream's sake)."""
        bound = self.runtime.pool.settings.connect_timeout

        async def offered(config: MCPServerConfigRow) -> set[str]:
            try:
                async with asyncio.timeout(bound):
                    _, session = await self.runtime.session(user_id, config)
                    return {c for c in ("prompts", "resources", "completions") if session.offers(c)}
            except Exception as exc:  # any failure: the server offers nothing now (tools/list says why)
                log.info("mcp.gateway.capabilities_unknown", server=config.slug, error=type(exc).__name__)
                return set()

        served = set().union(*await asyncio.gather(*(offered(c) for c in configs)))
        caps: dict[str, Any] = {"tools": {"listChanged": False}}
        if "prompts" in served:
            caps["prompts"] = {"listChanged": False}
        if "resources" in served:
            caps["resources"] = {"subscribe": False, "listChanged": False}
        if "completions" in served:
            caps["completions"] = {}
        return caps

    # --- lists ---------------------------------------------------------------------------
    async def listing(self, user_id: uuid.UUID, configs: list[MCPServerConfigRow], kind: str) -> list[dict[str, Any]]:
        """The merged list, servers in slug order. A failing force_on server fails it closed,
        as tools/list does; any other failing server contributes nothing."""
        ordered = sorted(configs, key=lambda c: c.slug)
        results = await asyncio.gather(*(self._items(user_id, c, kind) for c in ordered), return_exceptions=True)
        merged: list[dict[str, Any]] = []
        for config, result in zip(ordered, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result  # cancellation
                reason = _reason(result)
                if config.availability == "force_on":
                    raise ForcedServerUnavailable(
                        f"MCP server '{config.slug}' is required by an administrator but is unavailable ({reason})."
                    )
                log.info("mcp.gateway.list_failed", server=config.slug, kind=kind, reason=reason)
                continue
            merged.extend(_rename(config.slug, kind, item) for item in result)
        return merged

    async def _items(self, user_id: uuid.UUID, config: MCPServerConfigRow, kind: str) -> list[dict[str, Any]]:
        """The server's raw items of `kind` (empty if it does not offer them), bounded like the catalog."""
        capability = KINDS[kind][0]
        ttl = self.runtime.tool_cache.ttl

        async def fetch(session: UpstreamSession) -> list[dict[str, Any]]:
            return await session.list_cached(kind, ttl) if session.offers(capability) else []

        async with asyncio.timeout(self.runtime.pool.settings.connect_timeout * 1.5):
            items: list[dict[str, Any]] = await self._with_session(user_id, config, fetch)
            return items

    async def _with_session(
        self, user_id: uuid.UUID, config: MCPServerConfigRow, use: Callable[[UpstreamSession], Awaitable[Any]]
    ) -> Any:
        """`use` on the pooled session; once more on a new session if the old one was gone
        before the request was sent (nothing was processed upstream)."""
        for attempt in range(2):
            _, session = await self.runtime.session(user_id, config)
            try:
                return await use(session)
            except SessionExpired:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    # --- prompts/get ---------------------------------------------------------------------
    async def get_prompt(
        self, user_id: uuid.UUID, configs: list[MCPServerConfigRow], name: str, arguments: dict[str, str] | None
    ) -> dict[str, Any]:
        config, upstream_name = await self._find_prompt(user_id, configs, name)
        return await self._request(
            user_id, config, lambda session: session.get_prompt(upstream_name, arguments), "prompt"
        )

    async def _find_prompt(
        self, user_id: uuid.UUID, configs: list[MCPServerConfigRow], name: str
    ) -> tuple[MCPServerConfigRow, str]:
        for config in sorted((c for c in configs if may_expose(c.slug, name)), key=lambda c: c.slug):
            try:
                prompts = await self._items(user_id, config, "prompts")
            except Exception as exc:
                raise FederationError(INTERNAL_ERROR, _failed(config.slug, exc)) from None
            for prompt in prompts:
                upstream = str(prompt.get("name", ""))
                if exposed_name(config.slug, upstream) == name:
                    return config, upstream
        raise FederationError(INVALID_PARAMS, f"Unknown prompt '{name}', or not available to you.")

    # --- resources/read ------------------------------------------------------------------
    async def read_resource(self, user_id: uuid.UUID, configs: list[MCPServerConfigRow], uri: str) -> dict[str, Any]:
        config, original = self._resource_owner(configs, uri)
        result = await self._request(user_id, config, lambda session: _read(session, original), "resource")
        if isinstance(result.get("contents"), list):
            # Contents name their resource: in the gateway's URIs, so they can be read again.
            result["contents"] = [
                {**c, "uri": wrap_uri(config.slug, str(c["uri"]))} if isinstance(c, dict) and "uri" in c else c
                for c in result["contents"]
            ]
        return result

    def _resource_owner(self, configs: list[MCPServerConfigRow], uri: str) -> tuple[MCPServerConfigRow, str]:
        parts = unwrap_uri(uri)
        config = None if parts is None else next((c for c in configs if c.slug == parts[0]), None)
        if parts is None or config is None:
            # The same answer for a malformed URI and for a server the caller may not use.
            raise FederationError(RESOURCE_NOT_FOUND, f"Unknown resource '{uri[:300]}', or not available to you.")
        return config, parts[1]

    # --- completion/complete -------------------------------------------------------------
    async def complete(
        self,
        user_id: uuid.UUID,
        configs: list[MCPServerConfigRow],
        ref: dict[str, Any],
        argument: dict[str, str],
        context: dict[str, str] | None,
    ) -> dict[str, Any]:
        if ref["type"] == "ref/prompt":
            config, upstream_name = await self._find_prompt(user_id, configs, str(ref["name"]))
            upstream_ref = {"type": "ref/prompt", "name": upstream_name}
        else:
            config, original = self._resource_owner(configs, str(ref["uri"]))
            upstream_ref = {"type": "ref/resource", "uri": original}

        async def ask(session: UpstreamSession) -> dict[str, Any]:
            if not session.offers("completions"):
                return {"result": EMPTY_COMPLETION}  # nothing to suggest, not an error
            return await session.complete(upstream_ref, argument, context)

        return await self._request(user_id, config, ask, "completion")

    # --- shared --------------------------------------------------------------------------
    async def _request(
        self,
        user_id: uuid.UUID,
        config: MCPServerConfigRow,
        use: Callable[[UpstreamSession], Awaitable[dict[str, Any]]],
        what: str,
    ) -> dict[str, Any]:
        """The server's result, or a FederationError naming it (never a secret)."""
        try:
            message: dict[str, Any] = await self._with_session(user_id, config, use)
        except MCPRuntimeError as exc:
            raise FederationError(INTERNAL_ERROR, _failed(config.slug, exc)) from None
        error = message.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            raise FederationError(
                code if isinstance(code, int) else INTERNAL_ERROR,
                f"MCP server '{config.slug}' refused the {what} request: {error.get('message', 'no reason given')}",
            )
        result: dict[str, Any] = message.get("result") or {}
        return result


async def _read(session: UpstreamSession, uri: str) -> dict[str, Any]:
    if not session.offers("resources"):
        return {"error": {"code": RESOURCE_NOT_FOUND, "message": "the server offers no resources"}}
    return await session.read_resource(uri)


def _reason(exc: Exception) -> str:
    if isinstance(exc, MCPRuntimeError):
        return f"{exc.status}: {exc.reason}"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__


def _failed(slug: str, exc: Exception) -> str:
    if isinstance(exc, AuthRequired):
        return f"Authentication required for MCP server '{slug}': {exc.reason}. Connect your account in devplane."
    return f"MCP server '{slug}' failed: {_reason(exc)}."
