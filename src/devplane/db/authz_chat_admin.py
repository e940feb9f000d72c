"""Authorization for chat providers, model configs and chat settings.

Providers and model configs are their own resources (owners write, auditors read, members
nothing: the picker catalog reaches them through `as_system` in services/chat_models.py, which
shows members only what the picker needs). Settings are deployment configuration. Setting a
chat's model is a write on the chat.
"""

from __future__ import annotations

import datetime as dt
import uuid

from devplane.authz.authorizer import Object
from devplane.authz.policy import Action, Resource
from devplane.db.authz_base import AuthzBase
from devplane.db.chat_rows import ChatModelConfigRow, ChatProviderRow

PROVIDERS = Object(Resource.CHAT_PROVIDER)
MODELS = Object(Resource.CHAT_MODEL_CONFIG)
DEPLOYMENT = Object(Resource.DEPLOYMENT_CONFIG)


class AuthzChatAdmin(AuthzBase):
    # --- providers ----------------------------------------------------------------------------
    async def list_chat_providers(self) -> list[ChatProviderRow]:
        return await self._filter(self.inner.list_chat_providers)

    async def get_chat_provider_by_id(self, provider_id: uuid.UUID, *, for_update: bool = False) -> ChatProviderRow:
        return await self._fetch(self.inner.get_chat_provider_by_id, provider_id, for_update=for_update)

    async def insert_chat_provider(self, row: ChatProviderRow) -> ChatProviderRow:
        return await self._site(Action.CREATE, PROVIDERS, self.inner.insert_chat_provider, row)

    async def update_chat_provider(self, row: ChatProviderRow) -> ChatProviderRow:
        return await self._site(Action.UPDATE, PROVIDERS, self.inner.update_chat_provider, row)

    async def delete_chat_provider(self, provider_id: uuid.UUID) -> None:
        return await self._site(Action.DELETE, PROVIDERS, self.inner.delete_chat_provider, provider_id)

    # --- model configs ------------------------------------------------------------------------
    async def list_chat_model_configs(self) -> list[ChatModelConfigRow]:
        return await self._filter(self.inner.list_chat_model_configs)

    async def get_chat_model_config_by_id(
        self, config_id: uuid.UUID, *, for_update: bool = False
    ) -> ChatModelConfigRow:
        return await self._fetch(self.inner.get_chat_model_config_by_id, config_id, for_update=for_update)

    async def insert_chat_model_config(self, row: ChatModelConfigRow) -> ChatModelConfigRow:
        return await self._site(Action.CREATE, MODELS, self.inner.insert_chat_model_config, row)

    async def update_chat_model_config(self, row: ChatModelConfigRow) -> ChatModelConfigRow:
        return await self._site(Action.UPDATE, MODELS, self.inner.update_chat_model_config, row)

    async def clear_chat_model_config_default(self) -> None:
        return await self._site(Action.UPDATE, MODELS, self.inner.clear_chat_model_config_default)

    # --- settings and a chat's model -------------------------------------------------------------
    async def get_chat_setting(self, key: str) -> str:
        return await self._site(Action.READ, DEPLOYMENT, self.inner.get_chat_setting, key)

    async def upsert_chat_setting(self, key: str, value: str, at: dt.datetime) -> None:
        return await self._site(Action.UPDATE, DEPLOYMENT, self.inner.upsert_chat_setting, key, value, at)

    async def update_chat_model_config_id(self, chat_id: uuid.UUID, model_config_id: uuid.UUID | None) -> None:
        return await self._write_fetched(
            Action.UPDATE,
            self.inner.get_chat_by_id,
            chat_id,
            self.inner.update_chat_model_config_id,
            model_config_id,
        )
