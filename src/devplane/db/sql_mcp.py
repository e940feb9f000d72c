"""SQL for MCP server configs, per-user tokens, OAuth2 states and chats (mixed into SqlStore)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Text, cast, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devplane.db import models as m
from devplane.db.mcp_rows import ChatMessageRow, ChatRow, MCPOAuth2StateRow, MCPServerConfigRow, MCPServerUserTokenRow
from devplane.errors import BadRequest, Conflict, NotFound

_CONFIG_COLUMNS = [c.name for c in m.MCPServerConfig.__table__.columns]
_TOKEN_COLUMNS = [c.name for c in m.MCPServerUserToken.__table__.columns]


def _config(o: m.MCPServerConfig) -> MCPServerConfigRow:
    values: dict[str, Any] = {name: getattr(o, name) for name in _CONFIG_COLUMNS}
    for name in ("custom_header_names", "tool_allow_list", "tool_deny_list"):
        values[name] = tuple(values[name])
    return MCPServerConfigRow(**values)


def _config_values(row: MCPServerConfigRow) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(row, name) for name in _CONFIG_COLUMNS}
    for name in ("custom_header_names", "tool_allow_list", "tool_deny_list"):
        values[name] = list(values[name])
    return values


def _token(o: m.MCPServerUserToken) -> MCPServerUserTokenRow:
    return MCPServerUserTokenRow(**{name: getattr(o, name) for name in _TOKEN_COLUMNS})


def _state(o: m.MCPOAuth2State) -> MCPOAuth2StateRow:
    return MCPOAuth2StateRow(
        state_hash=o.state_hash,
        id=o.id,
        user_id=o.user_id,
        mcp_server_config_id=o.mcp_server_config_id,
        redirect_uri=o.redirect_uri,
        created_at=o.created_at,
        expires_at=o.expires_at,
        code_verifier=o.code_verifier,
        code_verifier_key_id=o.code_verifier_key_id,
    )


def _chat(o: m.Chat) -> ChatRow:
    return ChatRow(
        id=o.id,
        owner_id=o.owner_id,
        title=o.title,
        mcp_server_ids=tuple(uuid.UUID(i) for i in o.mcp_server_ids),
        created_at=o.created_at,
        updated_at=o.updated_at,
        model_config_id=o.model_config_id,
        status=o.status,
        worker_id=o.worker_id,
        heartbeat_at=o.heartbeat_at,
        last_error=o.last_error,
        usage=o.usage,
        last_seq=o.last_seq,
    )


def _message(o: m.ChatMessage, owner_id: uuid.UUID) -> ChatMessageRow:
    return ChatMessageRow(
        id=o.id,
        chat_id=o.chat_id,
        role=o.role,
        content=tuple(o.content),
        created_at=o.created_at,
        owner_id=owner_id,
        seq=o.seq,
        model_config_id=o.model_config_id,
        usage=o.usage,
    )


def _violation(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "unique" in text or "duplicate key" in text:
        return "unique"
    if "check" in text:
        return "check"
    return "other"


class SqlMCPQueries:
    session: AsyncSession

    async def _write_config(self, obj: m.MCPServerConfig, conflict: str) -> MCPServerConfigRow:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            kind = _violation(exc)
            if kind == "unique":
                raise Conflict(conflict) from exc
            if kind == "check":
                raise BadRequest("Invalid MCP server config.") from exc
            raise
        return _config(obj)

    # --- configs ---------------------------------------------------------------------------
    async def get_mcp_server_config_by_id(
        self, config_id: uuid.UUID, *, for_update: bool = False
    ) -> MCPServerConfigRow:
        stmt = select(m.MCPServerConfig).where(m.MCPServerConfig.id == config_id)
        if for_update:
            stmt = stmt.with_for_update()
        obj = (await self.session.execute(stmt)).scalar_one_or_none()
        if obj is None:
            raise NotFound("MCP server config not found.")
        return _config(obj)

    async def get_mcp_server_config_by_slug(self, slug: str) -> MCPServerConfigRow:
        obj = (
            await self.session.execute(select(m.MCPServerConfig).where(m.MCPServerConfig.slug == slug))
        ).scalar_one_or_none()
        if obj is None:
            raise NotFound("MCP server config not found.")
        return _config(obj)

    async def _configs(self, *conds: Any, key_share: bool = False) -> list[MCPServerConfigRow]:
        stmt = select(m.MCPServerConfig).where(*conds).order_by(m.MCPServerConfig.display_name, m.MCPServerConfig.id)
        if key_share:
            stmt = stmt.with_for_update(read=True, key_share=True)  # FOR KEY SHARE; nothing on SQLite
        return [_config(o) for o in (await self.session.execute(stmt)).scalars()]

    async def list_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        return await self._configs()

    async def list_enabled_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        return await self._configs(m.MCPServerConfig.enabled.is_(True))

    async def list_mcp_server_configs_by_ids(
        self, ids: list[uuid.UUID], *, for_key_share: bool = False
    ) -> list[MCPServerConfigRow]:
        if not ids:
            return []
        return await self._configs(m.MCPServerConfig.id.in_(ids), key_share=for_key_share)

    async def list_forced_mcp_server_configs(self) -> list[MCPServerConfigRow]:
        return await self._configs(m.MCPServerConfig.enabled.is_(True), m.MCPServerConfig.availability == "force_on")

    async def insert_mcp_server_config(self, row: MCPServerConfigRow) -> MCPServerConfigRow:
        obj = m.MCPServerConfig(**_config_values(row))
        self.session.add(obj)
        return await self._write_config(obj, "MCP server config already exists.")

    async def update_mcp_server_config(self, row: MCPServerConfigRow) -> MCPServerConfigRow:
        obj = await self.session.get(m.MCPServerConfig, row.id)
        if obj is None:
            raise NotFound("MCP server config not found.")
        for name, value in _config_values(row).items():
            if name not in ("id", "created_at", "created_by"):
                setattr(obj, name, value)
        return await self._write_config(obj, "MCP server config slug already exists.")

    async def delete_mcp_server_config(self, config_id: uuid.UUID) -> None:
        # Locked before the chats are stripped: a chat write that selected this config holds a key
        # share lock on it (list_mcp_server_configs_by_ids), so we wait for it to commit and then
        # strip what it saved. Config rows before chat rows, in that order everywhere, so the two
        # cannot deadlock (services/chats.py takes them in the same order).
        stmt = select(m.MCPServerConfig).where(m.MCPServerConfig.id == config_id).with_for_update()
        obj = (await self.session.execute(stmt)).scalar_one_or_none()
        if obj is None:
            raise NotFound("MCP server config not found.")
        await self._strip_chat_selection(config_id)
        # Explicit child deletes keep SQLite and PostgreSQL identical even without FK cascades.
        await self.session.execute(
            delete(m.MCPServerUserToken).where(m.MCPServerUserToken.mcp_server_config_id == config_id)
        )
        await self.session.execute(delete(m.MCPOAuth2State).where(m.MCPOAuth2State.mcp_server_config_id == config_id))
        await self.session.delete(obj)
        await self.session.flush()

    async def _strip_chat_selection(self, config_id: uuid.UUID) -> None:
        # JSON arrays differ per dialect; a LIKE over the array's text finds the few chats that
        # mention the id on both, and the rewrite happens in Python under a row lock.
        mentions = cast(m.Chat.mcp_server_ids, Text).like(f"%{config_id}%")
        stmt = select(m.Chat).where(mentions).with_for_update()
        for chat in (await self.session.execute(stmt)).scalars():
            chat.mcp_server_ids = [i for i in chat.mcp_server_ids if i != str(config_id)]
            chat.updated_at = dt.datetime.now(dt.UTC)
        await self.session.flush()

    # --- tokens -----------------------------------------------------------------------------
    async def get_mcp_server_user_token(
        self, config_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False
    ) -> MCPServerUserTokenRow:
        stmt = select(m.MCPServerUserToken).where(
            m.MCPServerUserToken.mcp_server_config_id == config_id, m.MCPServerUserToken.user_id == user_id
        )
        if for_update:
            stmt = stmt.with_for_update()
        obj = (await self.session.execute(stmt)).scalar_one_or_none()
        if obj is None:
            raise NotFound("No token for this MCP server.")
        return _token(obj)

    async def list_mcp_server_user_tokens_by_user_id(self, user_id: uuid.UUID) -> list[MCPServerUserTokenRow]:
        stmt = select(m.MCPServerUserToken).where(m.MCPServerUserToken.user_id == user_id)
        return [_token(o) for o in (await self.session.execute(stmt)).scalars()]

    async def upsert_mcp_server_user_token(self, row: MCPServerUserTokenRow) -> MCPServerUserTokenRow:
        try:
            existing = await self.get_mcp_server_user_token(row.mcp_server_config_id, row.user_id, for_update=True)
        except NotFound:
            existing = None
        values = {name: getattr(row, name) for name in _TOKEN_COLUMNS}
        if existing is None:
            obj = m.MCPServerUserToken(**values)
            self.session.add(obj)
        else:
            obj_ = await self.session.get(m.MCPServerUserToken, existing.id)
            assert obj_ is not None
            obj = obj_
            for name, value in values.items():
                if name not in ("id", "created_at"):
                    setattr(obj, name, value)
        await self.session.flush()
        return _token(obj)

    async def update_mcp_server_user_token_from_refresh(self, row: MCPServerUserTokenRow) -> MCPServerUserTokenRow:
        stmt = select(m.MCPServerUserToken).where(m.MCPServerUserToken.id == row.id)
        obj = (await self.session.execute(stmt)).scalar_one_or_none()
        if obj is None:
            raise NotFound("No token for this MCP server.")
        for name in (
            "access_token",
            "access_token_key_id",
            "refresh_token",
            "refresh_token_key_id",
            "token_type",
            "expiry",
        ):
            setattr(obj, name, getattr(row, name))
        obj.refresh_failure_reason = ""
        obj.updated_at = row.updated_at
        await self.session.flush()
        return _token(obj)

    async def mark_mcp_server_user_token_refresh_failure(
        self, config_id: uuid.UUID, user_id: uuid.UUID, reason: str
    ) -> None:
        await self.session.execute(
            update(m.MCPServerUserToken)
            .where(m.MCPServerUserToken.mcp_server_config_id == config_id, m.MCPServerUserToken.user_id == user_id)
            .values(refresh_failure_reason=reason[:400], updated_at=dt.datetime.now(dt.UTC))
        )

    async def delete_mcp_server_user_token(self, config_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(m.MCPServerUserToken).where(
                m.MCPServerUserToken.mcp_server_config_id == config_id, m.MCPServerUserToken.user_id == user_id
            )
        )
        return bool(getattr(result, "rowcount", 0))

    # --- OAuth2 states ------------------------------------------------------------------------
    async def insert_mcp_oauth2_state(self, row: MCPOAuth2StateRow) -> MCPOAuth2StateRow:
        obj = m.MCPOAuth2State(
            state_hash=row.state_hash,
            id=row.id,
            user_id=row.user_id,
            mcp_server_config_id=row.mcp_server_config_id,
            code_verifier=row.code_verifier,
            code_verifier_key_id=row.code_verifier_key_id,
            redirect_uri=row.redirect_uri,
            created_at=row.created_at,
            expires_at=row.expires_at,
        )
        self.session.add(obj)
        await self.session.flush()
        return _state(obj)

    async def consume_mcp_oauth2_state(self, state_hash: str) -> MCPOAuth2StateRow:
        stmt = select(m.MCPOAuth2State).where(m.MCPOAuth2State.state_hash == state_hash).with_for_update()
        obj = (await self.session.execute(stmt)).scalar_one_or_none()
        if obj is None:
            raise NotFound("Unknown or already used OAuth2 state.")
        row = _state(obj)
        # Conditional delete: of two concurrent callbacks with one state, only one deletes it.
        result = await self.session.execute(delete(m.MCPOAuth2State).where(m.MCPOAuth2State.state_hash == state_hash))
        if not getattr(result, "rowcount", 0):
            raise NotFound("Unknown or already used OAuth2 state.")
        return row

    async def delete_expired_mcp_oauth2_states(self, before: dt.datetime) -> int:
        result = await self.session.execute(delete(m.MCPOAuth2State).where(m.MCPOAuth2State.expires_at < before))
        return int(getattr(result, "rowcount", 0))

    # --- chats --------------------------------------------------------------------------------
    async def insert_chat(self, row: ChatRow) -> ChatRow:
        obj = m.Chat(
            id=row.id,
            owner_id=row.owner_id,
            title=row.title,
            mcp_server_ids=[str(i) for i in row.mcp_server_ids],
            created_at=row.created_at,
            updated_at=row.updated_at,
            model_config_id=row.model_config_id,
        )
        self.session.add(obj)
        await self.session.flush()
        return _chat(obj)

    async def get_chat_by_id(self, chat_id: uuid.UUID, *, for_update: bool = False) -> ChatRow:
        stmt = select(m.Chat).where(m.Chat.id == chat_id)
        if for_update:
            stmt = stmt.with_for_update()
        obj = (await self.session.execute(stmt)).scalar_one_or_none()
        if obj is None:
            raise NotFound("Chat not found.")
        return _chat(obj)

    async def list_chats_by_owner(self, owner_id: uuid.UUID) -> list[ChatRow]:
        stmt = select(m.Chat).where(m.Chat.owner_id == owner_id).order_by(m.Chat.updated_at.desc(), m.Chat.id)
        return [_chat(o) for o in (await self.session.execute(stmt)).scalars()]

    async def update_chat_mcp_server_ids(self, chat_id: uuid.UUID, ids: list[uuid.UUID]) -> ChatRow:
        obj = await self.session.get(m.Chat, chat_id)
        if obj is None:
            raise NotFound("Chat not found.")
        obj.mcp_server_ids = [str(i) for i in ids]
        obj.updated_at = dt.datetime.now(dt.UTC)
        await self.session.flush()
        return _chat(obj)

    async def insert_chat_message(self, row: ChatMessageRow) -> ChatMessageRow:
        chat = await self.session.get(m.Chat, row.chat_id, with_for_update=True, populate_existing=True)
        if chat is None:
            raise NotFound("Chat not found.")
        # The chat row is written first (last_seq), which serializes concurrent inserts on it.
        chat.last_seq = (chat.last_seq or 0) + 1
        obj = m.ChatMessage(
            id=row.id,
            chat_id=row.chat_id,
            role=row.role,
            content=list(row.content),
            created_at=row.created_at,
            seq=chat.last_seq,
            model_config_id=row.model_config_id,
            usage=row.usage,
        )
        self.session.add(obj)
        chat.updated_at = row.created_at
        await self.session.flush()
        return _message(obj, chat.owner_id)

    async def list_chat_messages(self, chat_id: uuid.UUID) -> list[ChatMessageRow]:
        chat = await self.session.get(m.Chat, chat_id)
        if chat is None:
            raise NotFound("Chat not found.")
        stmt = (
            select(m.ChatMessage)
            .where(m.ChatMessage.chat_id == chat_id)
            .order_by(m.ChatMessage.seq, m.ChatMessage.created_at, m.ChatMessage.id)
        )
        return [_message(o, chat.owner_id) for o in (await self.session.execute(stmt)).scalars()]
