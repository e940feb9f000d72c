"""The machinery behind tests/db/test_authz_store.py: cases, the seeded world, row builders.

New Store methods that need rows: insert them in `seed()` through the raw SqlStore and keep
their ids on the World (add a field, or use `world.extra`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from devplane.db.mcp_rows import (
    ChatMessageRow,
    ChatRow,
    MCPOAuth2StateRow,
    MCPServerConfigRow,
    MCPServerUserTokenRow,
    MCPToolCallRow,
)
from devplane.db.rows import APIKeyRow, AuditLogRow, EncryptedColumn, UserRow
from devplane.db.sql_store import SqlStore
from devplane.db.store import Store
from tests.db.authz_chat_support import seed_chat_admin


class Outcome(Enum):
    ALLOWED = "allowed"
    NOT_FOUND = "not found"
    FORBIDDEN = "forbidden"


@dataclass
class World:
    owner: uuid.UUID
    me: uuid.UUID
    other: uuid.UUID
    my_key: str
    other_key: str
    extra: dict[str, Any] = field(default_factory=dict)


Call = Callable[[Store, World], Awaitable[Any]]
Check = Callable[[Any, World], bool]


@dataclass(frozen=True)
class Case:
    call: Call
    expect: Outcome
    actor: str = "member"
    check: Check | None = None


def allowed(call: Call, *, actor: str = "member", check: Check | None = None) -> Case:
    return Case(call, Outcome.ALLOWED, actor, check)


def not_found(call: Call, *, actor: str = "member") -> Case:
    return Case(call, Outcome.NOT_FOUND, actor)


def forbidden(call: Call, *, actor: str = "member") -> Case:
    return Case(call, Outcome.FORBIDDEN, actor)


NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
COLUMN = EncryptedColumn("test_secrets", "value")


def user_row(username: str, roles: tuple[str, ...] = ()) -> UserRow:
    return UserRow(
        id=uuid.uuid4(),
        email=f"{username}@example.com",
        username=username,
        hashed_password="not-a-real-hash",
        roles=roles,
        status="active",
        created_at=NOW,
        updated_at=NOW,
        last_seen_at=None,
    )


def key_row(user_id: uuid.UUID, key_id: str | None = None) -> APIKeyRow:
    return APIKeyRow(
        id=key_id or uuid.uuid4().hex[:10],
        user_id=user_id,
        hashed_secret=b"\0" * 32,
        name="k",
        login_type="token",
        lifetime_seconds=3600,
        expires_at=NOW + dt.timedelta(hours=1),
        created_at=NOW,
        last_used_at=NOW,
    )


def audit_row(user_id: uuid.UUID | None) -> AuditLogRow:
    return AuditLogRow(
        id=uuid.uuid4(),
        time=NOW,
        user_id=user_id,
        username="",
        action="create",
        resource_type="user",
        resource_id="",
        resource_target="",
        ip="",
        user_agent="",
        request_id="",
        status_code=201,
        diff={},
    )


def tool_call_row(user_id: uuid.UUID | None) -> MCPToolCallRow:
    return MCPToolCallRow(
        id=uuid.uuid4(),
        created_at=NOW,
        user_id=user_id,
        chat_id=None,
        mcp_server_config_id=None,
        server_slug="demo",
        tool="echo",
        duration_ms=1.5,
        outcome="ok",
        error_class="",
        arguments_bytes=10,
        result_bytes=20,
    )


async def seed(sql: SqlStore) -> World:
    owner = await sql.insert_user(user_row("owner", ("owner",)))
    me = await sql.insert_user(user_row("me"))
    other = await sql.insert_user(user_row("other"))
    my_key = await sql.insert_api_key(key_row(me.id))
    other_key = await sql.insert_api_key(key_row(other.id))
    await sql.insert_audit_log(audit_row(owner.id))
    await sql.insert_mcp_tool_calls([tool_call_row(me.id)])
    world = World(owner=owner.id, me=me.id, other=other.id, my_key=my_key.id, other_key=other_key.id)
    await seed_mcp(sql, world)
    # OAuth2 provider (issue 12): rows for tests/db/authz_oauth2_cases.py.
    from tests.db.authz_oauth2_cases import seed_oauth2  # a cycle at module level: that module imports this one

    await seed_oauth2(sql, world)
    return world


def ids(rows: Any, w: World) -> set[Any]:
    return {r.id for r in rows}


# --- MCP configs, tokens, OAuth2 states, chats (cases in tests/db/authz_mcp_cases.py) --------
def config_row(slug: str, *, enabled: bool, availability: str) -> MCPServerConfigRow:
    return MCPServerConfigRow.blank(
        at=NOW,
        display_name=slug.title(),
        slug=slug,
        url=f"https://{slug}.example.com/mcp",
        availability=availability,
        enabled=enabled,
    )


def token_row(config_id: uuid.UUID, user_id: uuid.UUID) -> MCPServerUserTokenRow:
    return MCPServerUserTokenRow(
        id=uuid.uuid4(),
        mcp_server_config_id=config_id,
        user_id=user_id,
        token_type="Bearer",
        expiry=None,
        refresh_failure_reason="",
        created_at=NOW,
        updated_at=NOW,
        access_token="at",
        refresh_token="rt",
    )


def state_row(config_id: uuid.UUID, user_id: uuid.UUID) -> MCPOAuth2StateRow:
    return MCPOAuth2StateRow(
        state_hash=uuid.uuid4().hex,
        id=uuid.uuid4(),
        user_id=user_id,
        mcp_server_config_id=config_id,
        redirect_uri="https://devplane.test/cb",
        created_at=NOW,
        expires_at=NOW + dt.timedelta(minutes=10),
        code_verifier="verifier",
    )


def chat_row(owner_id: uuid.UUID) -> ChatRow:
    return ChatRow(id=uuid.uuid4(), owner_id=owner_id, title="t", mcp_server_ids=(), created_at=NOW, updated_at=NOW)


def message_row(chat_id: uuid.UUID, owner_id: uuid.UUID) -> ChatMessageRow:
    return ChatMessageRow(
        id=uuid.uuid4(),
        chat_id=chat_id,
        role="user",
        content=({"type": "text", "text": "hi"},),
        created_at=NOW,
        owner_id=owner_id,
    )


async def seed_mcp(sql: SqlStore, world: World) -> None:
    forced = await sql.insert_mcp_server_config(config_row("forced", enabled=True, availability="force_on"))
    disabled = await sql.insert_mcp_server_config(config_row("off", enabled=False, availability="default_off"))
    world.extra.update(forced=forced, disabled=disabled)
    world.extra["my_token"] = await sql.upsert_mcp_server_user_token(token_row(forced.id, world.me))
    world.extra["other_token"] = await sql.upsert_mcp_server_user_token(token_row(forced.id, world.other))
    world.extra["my_state"] = await sql.insert_mcp_oauth2_state(state_row(forced.id, world.me))
    world.extra["other_state"] = await sql.insert_mcp_oauth2_state(state_row(forced.id, world.other))
    world.extra["my_chat"] = await sql.insert_chat(chat_row(world.me))
    world.extra["other_chat"] = await sql.insert_chat(chat_row(world.other))
    await seed_chat_admin(sql, world.extra)  # chat loop (issue 10)
