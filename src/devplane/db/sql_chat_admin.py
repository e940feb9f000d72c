"""SQL for chat providers, model configs and chat settings (mixed into SqlStore)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devplane.db import models as m
from devplane.db.chat_rows import ChatModelConfigRow, ChatProviderRow
from devplane.errors import BadRequest, Conflict, NotFound

_PROVIDER_COLUMNS = [c.name for c in m.ChatProvider.__table__.columns]
_MODEL_COLUMNS = [c.name for c in m.ChatModelConfig.__table__.columns]


def _provider(o: m.ChatProvider) -> ChatProviderRow:
    return ChatProviderRow(**{name: getattr(o, name) for name in _PROVIDER_COLUMNS})


def _model(o: m.ChatModelConfig) -> ChatModelConfigRow:
    values: dict[str, Any] = {name: getattr(o, name) for name in _MODEL_COLUMNS}
    values["options"] = dict(values["options"] or {})
    return ChatModelConfigRow(**values)


def _kind(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "unique" in text or "duplicate key" in text:
        return "unique"
    if "check" in text:
        return "check"
    return "other"


class SqlChatAdminQueries:
    session: AsyncSession

    async def _flush_chat_admin(self, conflict: str, invalid: str) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            kind = _kind(exc)
            if kind == "unique":
                raise Conflict(conflict) from exc
            if kind == "check":
                raise BadRequest(invalid) from exc
            raise

    # --- providers ----------------------------------------------------------------------------
    async def list_chat_providers(self) -> list[ChatProviderRow]:
        stmt = select(m.ChatProvider).order_by(m.ChatProvider.provider)
        return [_provider(o) for o in (await self.session.execute(stmt)).scalars()]

    async def get_chat_provider_by_id(self, provider_id: uuid.UUID, *, for_update: bool = False) -> ChatProviderRow:
        stmt = select(m.ChatProvider).where(m.ChatProvider.id == provider_id)
        if for_update:
            stmt = stmt.with_for_update()
        obj = (await self.session.execute(stmt)).scalar_one_or_none()
        if obj is None:
            raise NotFound("Chat provider not found.")
        return _provider(obj)

    async def insert_chat_provider(self, row: ChatProviderRow) -> ChatProviderRow:
        obj = m.ChatProvider(**{name: getattr(row, name) for name in _PROVIDER_COLUMNS})
        self.session.add(obj)
        await self._flush_chat_admin(f"A {row.provider} provider is already registered.", "Invalid chat provider.")
        return _provider(obj)

    async def update_chat_provider(self, row: ChatProviderRow) -> ChatProviderRow:
        obj = await self.session.get(m.ChatProvider, row.id)
        if obj is None:
            raise NotFound("Chat provider not found.")
        for name in _PROVIDER_COLUMNS:
            if name not in ("id", "provider", "created_at", "created_by"):
                setattr(obj, name, getattr(row, name))
        await self._flush_chat_admin("Chat provider already exists.", "Invalid chat provider.")
        return _provider(obj)

    async def delete_chat_provider(self, provider_id: uuid.UUID) -> None:
        obj = (
            await self.session.execute(select(m.ChatProvider).where(m.ChatProvider.id == provider_id).with_for_update())
        ).scalar_one_or_none()
        if obj is None:
            raise NotFound("Chat provider not found.")
        # Explicit child writes keep SQLite and PostgreSQL identical whatever the FK actions do.
        models = select(m.ChatModelConfig.id).where(m.ChatModelConfig.provider_id == provider_id)
        await self.session.execute(
            update(m.Chat).where(m.Chat.model_config_id.in_(models)).values(model_config_id=None)
        )
        await self.session.execute(delete(m.ChatModelConfig).where(m.ChatModelConfig.provider_id == provider_id))
        await self.session.delete(obj)
        await self.session.flush()

    # --- model configs ------------------------------------------------------------------------
    async def list_chat_model_configs(self) -> list[ChatModelConfigRow]:
        stmt = (
            select(m.ChatModelConfig)
            .where(m.ChatModelConfig.deleted_at.is_(None))
            .order_by(m.ChatModelConfig.display_name, m.ChatModelConfig.model, m.ChatModelConfig.id)
        )
        return [_model(o) for o in (await self.session.execute(stmt)).scalars()]

    async def get_chat_model_config_by_id(
        self, config_id: uuid.UUID, *, for_update: bool = False
    ) -> ChatModelConfigRow:
        stmt = select(m.ChatModelConfig).where(m.ChatModelConfig.id == config_id)
        if for_update:
            stmt = stmt.with_for_update()
        obj = (await self.session.execute(stmt)).scalar_one_or_none()
        if obj is None:
            raise NotFound("Model config not found.")
        return _model(obj)

    async def insert_chat_model_config(self, row: ChatModelConfigRow) -> ChatModelConfigRow:
        values = {name: getattr(row, name) for name in _MODEL_COLUMNS}
        values["options"] = dict(row.options)
        obj = m.ChatModelConfig(**values)
        self.session.add(obj)
        await self._flush_chat_admin(
            "A live model config for this provider and model already exists.", "Invalid model config."
        )
        return _model(obj)

    async def update_chat_model_config(self, row: ChatModelConfigRow) -> ChatModelConfigRow:
        obj = await self.session.get(m.ChatModelConfig, row.id)
        if obj is None:
            raise NotFound("Model config not found.")
        for name in _MODEL_COLUMNS:
            if name not in ("id", "created_at", "created_by"):
                value = getattr(row, name)
                setattr(obj, name, dict(value) if name == "options" else value)
        await self._flush_chat_admin(
            "A live model config for this provider and model already exists.", "Invalid model config."
        )
        return _model(obj)

    async def clear_chat_model_config_default(self) -> None:
        await self.session.execute(
            update(m.ChatModelConfig).where(m.ChatModelConfig.is_default.is_(True)).values(is_default=False)
        )
        await self.session.flush()

    # --- settings and a chat's model -------------------------------------------------------------
    async def get_chat_setting(self, key: str) -> str:
        obj = await self.session.get(m.ChatSetting, key)
        return "" if obj is None else obj.value

    async def upsert_chat_setting(self, key: str, value: str, at: dt.datetime) -> None:
        obj = await self.session.get(m.ChatSetting, key, with_for_update=True)
        if obj is None:
            self.session.add(m.ChatSetting(key=key, value=value, updated_at=at))
        else:
            obj.value, obj.updated_at = value, at
        await self._flush_chat_admin("Chat setting was written concurrently; retry.", "Invalid chat setting.")

    async def update_chat_model_config_id(self, chat_id: uuid.UUID, model_config_id: uuid.UUID | None) -> None:
        result = await self.session.execute(
            update(m.Chat).where(m.Chat.id == chat_id).values(model_config_id=model_config_id)
        )
        if not getattr(result, "rowcount", 0):
            raise NotFound("Chat not found.")
