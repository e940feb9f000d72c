"""Short reads for the MCP runtime routes, each in its own read-only session."""

from __future__ import annotations

import uuid

from devplane.authz.authorizer import Subject
from devplane.authz.policy import Action
from devplane.db.database import Database
from devplane.db.mcp_rows import ChatRow, MCPServerConfigRow
from devplane.errors import Forbidden
from devplane.services import mcp_configs
from devplane.services.users import can


async def read_chat(db: Database, actor: Subject, chat_id: uuid.UUID) -> ChatRow:
    async with db.read_session() as tx:
        return await tx.store(actor).get_chat_by_id(chat_id)


async def read_config_as_admin(db: Database, actor: Subject, config_id: uuid.UUID) -> MCPServerConfigRow:
    """Admins (deployment_config update) only; auditors may read configs but not probe upstreams."""
    async with db.read_session() as tx:
        store = tx.store(actor)
        config = await mcp_configs.get_visible(store, config_id)
        if not can(store, Action.UPDATE, mcp_configs.DEPLOYMENT):
            raise Forbidden("Only administrators can inspect an MCP server's tools.")
        return config
