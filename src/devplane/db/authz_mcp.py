"""Authorization for MCP configs, per-user tokens, OAuth2 states and chats.

Configs are deployment configuration: reading needs deployment_config read (owners, auditors),
writing needs deployment_config update (owners). Members reach enabled configs through
`as_system` in the service, which redacts them. Tokens and states belong to their user; chats
to their owner.

The tool-call log is written only by the system (its background writer; owners hold every
permission anyway) and read with deployment_config read, like configs: admins and auditors.
"""

from __future__ import annotations

import datetime as dt
import uuid

from devplane.authz.authorizer import Object
from devplane.authz.policy import Action, Resource
from devplane.db.authz_base import SYSTEM, AuthzBase
from devplane.db.mcp_rows import (
    ChatMessageRow,
    ChatRow,
    MCPOAuth2StateRow,
    MCPServerConfigRow,
    MCPServerUserTokenRow,
    MCPToolCallFilter,
    MCPToolCallRow,
)

DEPLOYMENT = Object(Resource.DEPLOYMENT_CONFIG)


def _token(user_id: uuid.UUID) -> Object:
    return Object(Resource.MCP_USER_TOKEN, owner_id=user_id)


class AuthzMCP(AuthzBase):
    # --- configs ---------------------------------------------------------------------------
    async def get_mcp_server_config_by_id(
        self, config_id: uuid.UUID, *, for_update: bool = False
    ) -> MCPServerConfigRow:
        return await self._fetch(self.inner.get_mcp_server_config_by_id, config_id, for_update=for_update)

    async def get_mcp_server_config_by_slug(self, slug: str) -> MCPServerConfigRow:
        return await self._fetch(self.inner.get_mcp_server_config_by_slug, slug)

    async def list_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        return await self._filter(self.inner.list_mcp_server_configs)

    async def list_enabled_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        return await self._filter(self.inner.list_enabled_mcp_server_configs)

    async def list_mcp_server_configs_by_ids(
        self, ids: list[uuid.UUID], *, for_key_share: bool = False
    ) -> list[MCPServerConfigRow]:
        return await self._filter(self.inner.list_mcp_server_configs_by_ids, ids, for_key_share=for_key_share)

    async def list_forced_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        return await self._filter(self.inner.list_forced_mcp_server_configs)

    async def insert_mcp_server_config(self, row: MCPServerConfigRow) -> MCPServerConfigRow:
        return await self._site(Action.UPDATE, DEPLOYMENT, self.inner.insert_mcp_server_config, row)

    async def update_mcp_server_config(self, row: MCPServerConfigRow) -> MCPServerConfigRow:
        return await self._site(Action.UPDATE, DEPLOYMENT, self.inner.update_mcp_server_config, row)

    async def delete_mcp_server_config(self, config_id: uuid.UUID) -> None:
        return await self._site(Action.UPDATE, DEPLOYMENT, self.inner.delete_mcp_server_config, config_id)

    # --- tokens -----------------------------------------------------------------------------
    async def get_mcp_server_user_token(
        self, config_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False
    ) -> MCPServerUserTokenRow:
        return await self._fetch(self.inner.get_mcp_server_user_token, config_id, user_id, for_update=for_update)

    async def list_mcp_server_user_tokens_by_user_id(self, user_id: uuid.UUID) -> list[MCPServerUserTokenRow]:
        return await self._filter(self.inner.list_mcp_server_user_tokens_by_user_id, user_id)

    async def upsert_mcp_server_user_token(self, row: MCPServerUserTokenRow) -> MCPServerUserTokenRow:
        return await self._write(Action.CREATE, row.authz_object(), self.inner.upsert_mcp_server_user_token, row)

    async def update_mcp_server_user_token_from_refresh(self, row: MCPServerUserTokenRow) -> MCPServerUserTokenRow:
        return await self._write(
            Action.UPDATE, row.authz_object(), self.inner.update_mcp_server_user_token_from_refresh, row
        )

    async def mark_mcp_server_user_token_refresh_failure(
        self, config_id: uuid.UUID, user_id: uuid.UUID, reason: str
    ) -> None:
        return await self._write(
            Action.UPDATE,
            _token(user_id),
            self.inner.mark_mcp_server_user_token_refresh_failure,
            config_id,
            user_id,
            reason,
        )

    async def delete_mcp_server_user_token(self, config_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return await self._write(
            Action.DELETE, _token(user_id), self.inner.delete_mcp_server_user_token, config_id, user_id
        )

    # --- OAuth2 states ------------------------------------------------------------------------
    async def insert_mcp_oauth2_state(self, row: MCPOAuth2StateRow) -> MCPOAuth2StateRow:
        return await self._write(Action.CREATE, row.authz_object(), self.inner.insert_mcp_oauth2_state, row)

    async def consume_mcp_oauth2_state(self, state_hash: str) -> MCPOAuth2StateRow:
        # Consumed, then checked: another user's state raises NotFound and the transaction's
        # rollback puts it back, so a wrong-user callback cannot burn someone's state.
        return await self._fetch(self.inner.consume_mcp_oauth2_state, state_hash)

    async def delete_expired_mcp_oauth2_states(self, before: dt.datetime) -> int:
        return await self._site(Action.DELETE, SYSTEM, self.inner.delete_expired_mcp_oauth2_states, before)

    # --- chats --------------------------------------------------------------------------------
    async def insert_chat(self, row: ChatRow) -> ChatRow:
        return await self._write(Action.CREATE, row.authz_object(), self.inner.insert_chat, row)

    async def get_chat_by_id(self, chat_id: uuid.UUID, *, for_update: bool = False) -> ChatRow:
        return await self._fetch(self.inner.get_chat_by_id, chat_id, for_update=for_update)

    async def list_chats_by_owner(self, owner_id: uuid.UUID) -> list[ChatRow]:
        return await self._filter(self.inner.list_chats_by_owner, owner_id)

    async def update_chat_mcp_server_ids(self, chat_id: uuid.UUID, ids: list[uuid.UUID]) -> ChatRow:
        return await self._write_fetched(
            Action.UPDATE, self.inner.get_chat_by_id, chat_id, self.inner.update_chat_mcp_server_ids, ids
        )

    async def insert_chat_message(self, row: ChatMessageRow) -> ChatMessageRow:
        chat = await self._fetch(self.inner.get_chat_by_id, row.chat_id)
        return await self._write(Action.UPDATE, chat.authz_object(), self.inner.insert_chat_message, row)

    async def list_chat_messages(self, chat_id: uuid.UUID) -> list[ChatMessageRow]:
        return await self._write_fetched(Action.READ, self.inner.get_chat_by_id, chat_id, self.inner.list_chat_messages)

    # --- tool-call log ------------------------------------------------------------------------
    async def insert_mcp_tool_calls(self, rows: list[MCPToolCallRow]) -> None:
        return await self._site(Action.CREATE, SYSTEM, self.inner.insert_mcp_tool_calls, rows)

    async def list_mcp_tool_calls(self, flt: MCPToolCallFilter) -> tuple[list[MCPToolCallRow], int]:
        return await self._site(Action.READ, DEPLOYMENT, self.inner.list_mcp_tool_calls, flt)
