"""SQL for the MCP tool-call log (mixed into SqlStore)."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, and_, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from devplane.db import models as m
from devplane.db.mcp_rows import MCPToolCallFilter, MCPToolCallRow

_COLUMNS = [c.name for c in m.MCPToolCall.__table__.columns]


def _row(o: m.MCPToolCall) -> MCPToolCallRow:
    return MCPToolCallRow(**{name: getattr(o, name) for name in _COLUMNS})


class SqlToolCallQueries:
    session: AsyncSession

    async def _existing(self, model: type[m.User] | type[m.MCPServerConfig], ids: set[uuid.UUID]) -> set[uuid.UUID]:
        if not ids:
            return set()
        return set((await self.session.execute(select(model.id).where(model.id.in_(ids)))).scalars())

    async def insert_mcp_tool_calls(self, rows: list[MCPToolCallRow]) -> None:
        if not rows:
            return
        # Rows are written up to a second after the call: a user or config deleted meanwhile
        # gets NULL, as ON DELETE SET NULL would have done, instead of failing the whole batch.
        users = await self._existing(m.User, {r.user_id for r in rows if r.user_id})
        configs = await self._existing(
            m.MCPServerConfig, {r.mcp_server_config_id for r in rows if r.mcp_server_config_id}
        )
        values: list[dict[str, Any]] = []
        for row in rows:
            value = {name: getattr(row, name) for name in _COLUMNS}
            if row.user_id not in users:
                value["user_id"] = None
            if row.mcp_server_config_id not in configs:
                value["mcp_server_config_id"] = None
            values.append(value)
        # Perf: a Core insert on the table, not the ORM bulk path (same SQL, no per-row ORM
        # bookkeeping); batches arrive twice a second under load, on the gateway's event loop.
        await self.session.execute(insert(cast(Table, m.MCPToolCall.__table__)), values)

    async def list_mcp_tool_calls(self, flt: MCPToolCallFilter) -> tuple[list[MCPToolCallRow], int]:
        t = m.MCPToolCall
        conds: list[Any] = []
        if flt.config_id:
            conds.append(t.mcp_server_config_id == flt.config_id)
        if flt.user_id:
            conds.append(t.user_id == flt.user_id)
        if flt.chat_id:
            conds.append(t.chat_id == flt.chat_id)
        if flt.tool:
            conds.append(t.tool == flt.tool)
        if flt.outcome:
            conds.append(t.outcome == flt.outcome)
        if flt.since:
            conds.append(t.created_at >= flt.since)
        if flt.until:
            conds.append(t.created_at < flt.until)
        where = and_(*conds) if conds else None
        count_stmt = select(func.count()).select_from(t)
        stmt = select(t).order_by(t.created_at.desc(), t.id)
        if where is not None:
            count_stmt = count_stmt.where(where)
            stmt = stmt.where(where)
        total = int((await self.session.execute(count_stmt)).scalar_one())
        objs = (await self.session.execute(stmt.limit(flt.limit).offset(flt.offset))).scalars()
        return [_row(o) for o in objs], total
