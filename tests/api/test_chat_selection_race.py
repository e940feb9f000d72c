"""A chat selecting an MCP server config while that config is deleted: no stale id may stay.

The race is PostgreSQL's (READ COMMITTED, row locks): the delete strips the id from every chat
in its own transaction and cannot see a selection another transaction has not committed yet.
Each test holds one side's transaction open at the point of the race and runs the other side
against it, through the services, the way two requests would. On SQLite the writer lock
serialises the two sides already; the same tests run there and check that claim.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from devplane.api.state import AppState
from devplane.authz.authorizer import Subject
from devplane.db.mcp_rows import ChatRow
from devplane.db.store import Store
from devplane.errors import BadRequest
from devplane.sdk.chats import CreateChatMessageRequest, CreateChatRequest
from devplane.sdk.client import Client
from devplane.sdk.users import User
from devplane.services import chats, mcp_configs
from devplane.services.context import RequestContext
from tests.api.conftest import Actor
from tests.api.mcp_support import body, request

# Long enough for the waiting side to reach its lock; it must still be waiting after it.
SETTLE = 0.3

# (member's store, member's id, an existing chat, the config) -> the chat row it saved
Select = Callable[[Store, uuid.UUID, uuid.UUID, uuid.UUID], Awaitable[ChatRow]]


def _subject(user: User) -> Subject:
    return Subject(user_id=user.id, roles=tuple(r.value for r in user.roles))


def _ctx(user: User) -> RequestContext:
    return RequestContext(request_id="race", ip="", user_agent="", user_id=user.id, username=user.username)


async def _message(store: Store, user_id: uuid.UUID, chat_id: uuid.UUID, config_id: uuid.UUID) -> ChatRow:
    chat, _ = await chats.post_message(
        store, chat_id, CreateChatMessageRequest(content="hi", mcp_server_ids=[config_id])
    )
    return chat


async def _create(store: Store, user_id: uuid.UUID, chat_id: uuid.UUID, config_id: uuid.UUID) -> ChatRow:
    return await chats.create(store, user_id, CreateChatRequest(mcp_server_ids=[config_id]))


async def _create_default(store: Store, user_id: uuid.UUID, chat_id: uuid.UUID, config_id: uuid.UUID) -> ChatRow:
    return await chats.create(store, user_id, CreateChatRequest())  # the enabled default_on configs


@dataclass
class Race:
    state: AppState
    owner: User
    member: User
    config_id: uuid.UUID

    async def delete(self) -> None:
        async with self.state.db.transaction() as tx:
            await mcp_configs.delete(tx.store(_subject(self.owner)), _ctx(self.owner), self.config_id)

    async def select(self, select: Select, chat_id: uuid.UUID) -> ChatRow:
        async with self.state.db.transaction() as tx:
            return await select(tx.store(_subject(self.member)), self.member.id, chat_id, self.config_id)

    async def stored(self, chat_id: uuid.UUID) -> tuple[uuid.UUID, ...]:
        async with self.state.db.read_session() as tx:
            return (await tx.store(_subject(self.member)).get_chat_by_id(chat_id)).mcp_server_ids


@pytest.fixture
async def race(state: AppState, owner: Client, member: Actor) -> Race:
    config = await owner.create_mcp_server(request(body(availability="default_on")))
    return Race(state, await owner.me(), member.user, config.id)


@pytest.mark.parametrize("select", [_message, _create, _create_default], ids=["message", "create", "create-default"])
async def test_a_delete_waits_for_a_selection_and_then_strips_it(race: Race, member: Actor, select: Select) -> None:
    chat = await member.client.create_chat(CreateChatRequest(mcp_server_ids=[]))
    async with race.state.db.transaction() as tx:
        saved = await select(tx.store(_subject(race.member)), race.member.id, chat.id, race.config_id)
        assert race.config_id in saved.mcp_server_ids
        deleting = asyncio.create_task(race.delete())
        await asyncio.sleep(SETTLE)
        # The selection holds the config: the delete may not commit before the selection does.
        assert not deleting.done()
    await asyncio.wait_for(deleting, timeout=10)
    assert race.config_id not in await race.stored(saved.id)
    assert race.config_id not in [s.id for s in await member.client.mcp_servers()]


async def test_a_selection_waits_for_a_delete_and_is_then_refused(race: Race, member: Actor) -> None:
    chat = await member.client.create_chat(CreateChatRequest(mcp_server_ids=[]))
    async with race.state.db.transaction() as tx:
        await mcp_configs.delete(tx.store(_subject(race.owner)), _ctx(race.owner), race.config_id)
        selecting = asyncio.create_task(race.select(_message, chat.id))
        await asyncio.sleep(SETTLE)
        assert not selecting.done()
    with pytest.raises(BadRequest, match="Unknown or disabled"):
        await asyncio.wait_for(selecting, timeout=10)
    assert await race.stored(chat.id) == ()
    assert await member.client.chat_messages(chat.id) == []


async def test_a_default_selection_made_after_a_delete_leaves_it_out(race: Race, member: Actor) -> None:
    async with race.state.db.transaction() as tx:
        await mcp_configs.delete(tx.store(_subject(race.owner)), _ctx(race.owner), race.config_id)
        creating = asyncio.create_task(race.select(_create_default, uuid.uuid4()))
        await asyncio.sleep(SETTLE)
        assert not creating.done()
    created = await asyncio.wait_for(creating, timeout=10)
    assert race.config_id not in created.mcp_server_ids
    assert await race.stored(created.id) == created.mcp_server_ids
