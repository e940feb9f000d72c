"""Encrypt-on-write / decrypt-on-read for the MCP secret fields (mixed into CryptStore).

Five fields: configs' oauth2_client_secret, api_key_value, custom_headers; tokens'
access_token, refresh_token; plus the PKCE verifier of pending authorizations. Each is bound
to its table, column and row id (AES-GCM associated data).
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, TypeVar

from devplane.db.mcp_rows import (
    CONFIG_SECRETS,
    STATE_SECRETS,
    TOKEN_SECRETS,
    MCPOAuth2StateRow,
    MCPServerConfigRow,
    MCPServerUserTokenRow,
)
from devplane.db.rows import EncryptedColumn
from devplane.db.store import Store
from devplane.errors import NotFound

Row = TypeVar("Row", MCPServerConfigRow, MCPServerUserTokenRow, MCPOAuth2StateRow)


class _Sealer:
    inner: Store

    def seal(self, column: EncryptedColumn, row_id: object, plaintext: str) -> Any:
        raise NotImplementedError

    def open(self, column: EncryptedColumn, row_id: object, value: str, key_id: str | None) -> str:
        raise NotImplementedError


def _row_id(row: Any) -> uuid.UUID:
    return row.id  # type: ignore[no-any-return]


class CryptMCP(_Sealer):
    def _seal_row(self, row: Row, secrets: dict[str, EncryptedColumn]) -> Row:
        changes: dict[str, Any] = {}
        for name, column in secrets.items():
            sealed = self.seal(column, _row_id(row), getattr(row, name))
            changes[name] = sealed.value
            changes[f"{name}_key_id"] = sealed.key_id
        return dataclasses.replace(row, **changes)

    def _open_row(self, row: Row, secrets: dict[str, EncryptedColumn]) -> Row:
        changes: dict[str, Any] = {
            name: self.open(column, _row_id(row), getattr(row, name), getattr(row, f"{name}_key_id"))
            for name, column in secrets.items()
        }
        return dataclasses.replace(row, **changes)

    def _configs(self, rows: list[MCPServerConfigRow]) -> list[MCPServerConfigRow]:
        return [self._open_row(r, CONFIG_SECRETS) for r in rows]

    # --- configs ---------------------------------------------------------------------------
    async def get_mcp_server_config_by_id(
        self, config_id: uuid.UUID, *, for_update: bool = False
    ) -> MCPServerConfigRow:
        row = await self.inner.get_mcp_server_config_by_id(config_id, for_update=for_update)
        return self._open_row(row, CONFIG_SECRETS)

    async def get_mcp_server_config_by_slug(self, slug: str) -> MCPServerConfigRow:
        return self._open_row(await self.inner.get_mcp_server_config_by_slug(slug), CONFIG_SECRETS)

    async def list_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        return self._configs(await self.inner.list_mcp_server_configs())

    async def list_enabled_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        return self._configs(await self.inner.list_enabled_mcp_server_configs())

    async def list_mcp_server_configs_by_ids(
        self, ids: list[uuid.UUID], *, for_key_share: bool = False
    ) -> list[MCPServerConfigRow]:
        return self._configs(await self.inner.list_mcp_server_configs_by_ids(ids, for_key_share=for_key_share))

    async def list_forced_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        return self._configs(await self.inner.list_forced_mcp_server_configs())

    async def insert_mcp_server_config(self, row: MCPServerConfigRow) -> MCPServerConfigRow:
        stored = await self.inner.insert_mcp_server_config(self._seal_row(row, CONFIG_SECRETS))
        return self._open_row(stored, CONFIG_SECRETS)

    async def update_mcp_server_config(self, row: MCPServerConfigRow) -> MCPServerConfigRow:
        stored = await self.inner.update_mcp_server_config(self._seal_row(row, CONFIG_SECRETS))
        return self._open_row(stored, CONFIG_SECRETS)

    # --- tokens -----------------------------------------------------------------------------
    async def get_mcp_server_user_token(
        self, config_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False
    ) -> MCPServerUserTokenRow:
        row = await self.inner.get_mcp_server_user_token(config_id, user_id, for_update=for_update)
        return self._open_row(row, TOKEN_SECRETS)

    async def list_mcp_server_user_tokens_by_user_id(self, user_id: uuid.UUID) -> list[MCPServerUserTokenRow]:
        return [
            self._open_row(r, TOKEN_SECRETS) for r in await self.inner.list_mcp_server_user_tokens_by_user_id(user_id)
        ]

    async def upsert_mcp_server_user_token(self, row: MCPServerUserTokenRow) -> MCPServerUserTokenRow:
        # The row id is the AAD binding; an upsert that hits an existing row must seal with
        # that row's id, so look it up first (the SQL layer keeps the existing id).
        try:
            existing = await self.inner.get_mcp_server_user_token(
                row.mcp_server_config_id, row.user_id, for_update=True
            )
            row = dataclasses.replace(row, id=existing.id, created_at=existing.created_at)
        except NotFound:
            pass  # first connection: insert with the new id
        stored = await self.inner.upsert_mcp_server_user_token(self._seal_row(row, TOKEN_SECRETS))
        return self._open_row(stored, TOKEN_SECRETS)

    async def update_mcp_server_user_token_from_refresh(self, row: MCPServerUserTokenRow) -> MCPServerUserTokenRow:
        stored = await self.inner.update_mcp_server_user_token_from_refresh(self._seal_row(row, TOKEN_SECRETS))
        return self._open_row(stored, TOKEN_SECRETS)

    # --- OAuth2 states ------------------------------------------------------------------------
    async def insert_mcp_oauth2_state(self, row: MCPOAuth2StateRow) -> MCPOAuth2StateRow:
        stored = await self.inner.insert_mcp_oauth2_state(self._seal_row(row, STATE_SECRETS))
        return self._open_row(stored, STATE_SECRETS)

    async def consume_mcp_oauth2_state(self, state_hash: str) -> MCPOAuth2StateRow:
        return self._open_row(await self.inner.consume_mcp_oauth2_state(state_hash), STATE_SECRETS)
