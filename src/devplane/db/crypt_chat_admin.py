"""Encrypt-on-write / decrypt-on-read for chat providers' API keys (mixed into CryptStore).

The key is bound to its table, column and row id (AES-GCM associated data), like the MCP secrets.
"""

from __future__ import annotations

import dataclasses
import uuid

from devplane.db.chat_rows import PROVIDER_SECRETS, ChatProviderRow
from devplane.db.crypt_mcp import _Sealer

_COLUMN = PROVIDER_SECRETS["api_key"]


class CryptChatAdmin(_Sealer):
    def _open_provider(self, row: ChatProviderRow) -> ChatProviderRow:
        return dataclasses.replace(row, api_key=self.open(_COLUMN, row.id, row.api_key, row.api_key_key_id))

    def _seal_provider(self, row: ChatProviderRow) -> ChatProviderRow:
        sealed = self.seal(_COLUMN, row.id, row.api_key)
        return dataclasses.replace(row, api_key=sealed.value, api_key_key_id=sealed.key_id)

    async def list_chat_providers(self) -> list[ChatProviderRow]:
        return [self._open_provider(r) for r in await self.inner.list_chat_providers()]

    async def get_chat_provider_by_id(self, provider_id: uuid.UUID, *, for_update: bool = False) -> ChatProviderRow:
        return self._open_provider(await self.inner.get_chat_provider_by_id(provider_id, for_update=for_update))

    async def insert_chat_provider(self, row: ChatProviderRow) -> ChatProviderRow:
        return self._open_provider(await self.inner.insert_chat_provider(self._seal_provider(row)))

    async def update_chat_provider(self, row: ChatProviderRow) -> ChatProviderRow:
        return self._open_provider(await self.inner.update_chat_provider(self._seal_provider(row)))
