"""Governed tool catalog: what a user may call, built concurrently across servers."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from devplane.db.mcp_rows import MCPServerConfigRow
from devplane.mcp.naming import exposed_name, tool_allowed
from devplane.mcp.pool import PoolKey


@dataclass(frozen=True)
class ToolEntry:
    name: str
    server_id: Any
    server_slug: str
    tool_name: str
    description: str
    input_schema: dict[str, Any]
    # The upstream's own tool definition, for gateway clients (annotations, output schema...).
    definition: dict[str, Any] = field(repr=False, compare=False)


@dataclass
class ServerStatus:
    id: Any
    slug: str
    status: str  # connected | auth_required | timeout | error | no_tools
    reason: str | None
    tool_count: int
    latency_ms: float
    availability: str
    tools: list[ToolEntry] = field(default_factory=list)


@dataclass
class Catalog:
    tools: list[ToolEntry]
    servers: list[ServerStatus]

    def find(self, name: str) -> ToolEntry | None:
        for tool in self.tools:
            if tool.name == name:
                return tool
        return None


def normalize_schema(schema: Any) -> dict[str, Any]:
    """Pass the input schema through, with `required` always a list (LLM APIs reject null)."""
    out: dict[str, Any] = copy.deepcopy(schema) if isinstance(schema, dict) else {}
    out.setdefault("type", "object")
    if not isinstance(out.get("required"), list):
        out["required"] = []
    if out.get("type") == "object" and not isinstance(out.get("properties"), dict):
        out["properties"] = {}
    return out


def entries_for(config: MCPServerConfigRow, raw_tools: list[dict[str, Any]]) -> list[ToolEntry]:
    entries: list[ToolEntry] = []
    for tool in raw_tools:
        name = str(tool.get("name", ""))
        if not name or not tool_allowed(name, config.tool_allow_list, config.tool_deny_list):
            continue
        schema = normalize_schema(tool.get("inputSchema"))
        exposed = exposed_name(config.slug, name)
        definition = {**tool, "name": exposed, "inputSchema": schema}
        entries.append(
            ToolEntry(
                name=exposed,
                server_id=config.id,
                server_slug=config.slug,
                tool_name=name,
                description=str(tool.get("description") or ""),
                input_schema=schema,
                definition=definition,
            )
        )
    return entries


@dataclass
class CachedTools:
    tools: list[dict[str, Any]]
    fetched_at: float


class ToolCache:
    """Raw upstream tool lists per (config, credential), with a TTL."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[PoolKey, CachedTools] = {}

    def get(self, key: PoolKey) -> list[dict[str, Any]] | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry.fetched_at > self.ttl:
            return None
        return entry.tools

    def put(self, key: PoolKey, tools: list[dict[str, Any]]) -> None:
        self._entries[key] = CachedTools(tools, time.monotonic())

    def invalidate(self, key: PoolKey) -> None:
        self._entries.pop(key, None)

    def invalidate_config(self, config_id: Any, keep_version: str | None = None) -> None:
        for key in [k for k in self._entries if k.config_id == config_id and k.config_version != keep_version]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()
