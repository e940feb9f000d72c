"""Chats and their MCP server selection (issue 3; coder's TestChatWithMCPServerIDs and more)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from devplane.sdk.chats import Chat, CreateChatMessageRequest, CreateChatRequest
from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.mcp import UpdateMCPServerConfigRequest
from tests.api.conftest import Actor, MakeActor, assert_envelope
from tests.api.mcp_support import CHATS, body, request, send


@dataclass
class Servers:
    on: uuid.UUID  # enabled, default_on
    on2: uuid.UUID  # enabled, default_on
    off: uuid.UUID  # enabled, default_off
    forced: uuid.UUID  # enabled, force_on
    disabled: uuid.UUID  # disabled, default_on
    disabled_forced: uuid.UUID  # disabled, force_on


@pytest.fixture
async def servers(owner: Client) -> Servers:
    async def make(name: str, availability: str, enabled: bool = True) -> uuid.UUID:
        data = body(display_name=name, availability=availability, enabled=enabled)
        return (await owner.create_mcp_server(request(data))).id

    # Display names fix the listing order, which is the order of a default selection.
    return Servers(
        on=await make("A on", "default_on"),
        on2=await make("B on", "default_on"),
        off=await make("C off", "default_off"),
        forced=await make("D forced", "force_on"),
        disabled=await make("E disabled", "default_on", enabled=False),
        disabled_forced=await make("F disabled forced", "force_on", enabled=False),
    )


def _ids(*ids: uuid.UUID) -> list[uuid.UUID]:
    return list(ids)


def _bad_ids(err: dict[str, Any]) -> str:
    (item,) = err["validations"]
    assert item["field"] == "mcp_server_ids"
    return str(item["detail"])


async def test_default_selection_is_enabled_default_on(member: Actor, servers: Servers) -> None:
    chat = await member.client.create_chat(CreateChatRequest(title="hello"))
    assert chat.title == "hello"
    assert chat.owner_id == member.user.id
    assert chat.mcp_server_ids == _ids(servers.on, servers.on2)
    assert chat.effective_mcp_server_ids == _ids(servers.on, servers.on2, servers.forced)
    assert await member.client.chat(chat.id) == chat
    raw = await send(member.client, "POST", CHATS, {})
    assert raw.status_code == 201
    assert raw.json()["mcp_server_ids"] == [str(servers.on), str(servers.on2)]


async def test_empty_selection_means_none(member: Actor, servers: Servers) -> None:
    chat = await member.client.create_chat(CreateChatRequest(mcp_server_ids=[]))
    assert chat.mcp_server_ids == []
    # force_on is not the user's to remove.
    assert chat.effective_mcp_server_ids == [servers.forced]
    raw = (await send(member.client, "GET", f"{CHATS}/{chat.id}")).json()
    assert raw["mcp_server_ids"] == []


async def test_explicit_selection_is_stored_deduplicated(member: Actor, servers: Servers) -> None:
    """coder's TestChatWithMCPServerIDs, with duplicates removed (order kept)."""
    chosen = [servers.off, servers.on, servers.off, servers.forced, servers.on]
    chat = await member.client.create_chat(CreateChatRequest(mcp_server_ids=chosen))
    assert chat.mcp_server_ids == _ids(servers.off, servers.on, servers.forced)
    assert chat.effective_mcp_server_ids == _ids(servers.off, servers.on, servers.forced)
    assert (await member.client.chat(chat.id)).mcp_server_ids == chat.mcp_server_ids


async def test_disabled_and_unknown_ids_are_refused(member: Actor, owner: Client, servers: Servers) -> None:
    unknown = uuid.uuid4()
    for client in (member.client, owner):  # admins cannot select disabled servers either
        payload = {"mcp_server_ids": [str(servers.on), str(servers.disabled), str(unknown)]}
        detail = _bad_ids(assert_envelope(await send(client, "POST", CHATS, payload), 400))
        assert str(servers.disabled) in detail
        assert str(unknown) in detail
        assert str(servers.on) not in detail
    detail = _bad_ids(
        assert_envelope(
            await send(member.client, "POST", CHATS, {"mcp_server_ids": [str(servers.disabled_forced)]}), 400
        )
    )
    assert str(servers.disabled_forced) in detail
    assert await member.client.chats() == []


@pytest.mark.parametrize("payload", [{"mcp_server_ids": ["nope"]}, {"mcp_server_ids": "x"}, {"bogus": 1}, []])
async def test_create_chat_payload_validation(member: Actor, payload: Any) -> None:
    assert_envelope(await send(member.client, "POST", CHATS, payload), 400)


async def test_list_shows_own_chats_only(make_actor: MakeActor, owner: Client, servers: Servers) -> None:
    alice, bob = await make_actor(), await make_actor()
    first = await alice.client.create_chat(CreateChatRequest(title="first"))
    second = await alice.client.create_chat(CreateChatRequest(title="second"))
    theirs = await bob.client.create_chat(CreateChatRequest(title="bob's"))
    assert {c.id for c in await alice.client.chats()} == {first.id, second.id}
    assert [c.id for c in await bob.client.chats()] == [theirs.id]
    assert await owner.chats() == []
    assert (await send(owner, "GET", CHATS)).text == "[]"
    # A message bumps the chat to the top (most recently updated first).
    await alice.client.create_chat_message(first.id, CreateChatMessageRequest(content="bump"))
    assert [c.id for c in await alice.client.chats()] == [first.id, second.id]


async def test_other_users_chat_is_404(make_actor: MakeActor, servers: Servers) -> None:
    alice, bob = await make_actor(), await make_actor()
    chat = await alice.client.create_chat(CreateChatRequest())
    await alice.client.create_chat_message(chat.id, CreateChatMessageRequest(content="private"))
    for method, suffix, payload in [
        ("GET", "", None),
        ("GET", "/messages", None),
        ("POST", "/messages", {"content": "intrude"}),
        ("POST", "/messages", {"content": "intrude", "mcp_server_ids": []}),
    ]:
        assert_envelope(await send(bob.client, method, f"{CHATS}/{chat.id}{suffix}", payload), 404)
    # Nothing changed for the owner of the chat.
    assert (await alice.client.chat(chat.id)).mcp_server_ids == chat.mcp_server_ids
    assert [m.content[0]["text"] for m in await alice.client.chat_messages(chat.id)] == ["private"]


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [("GET", "", None), ("GET", "/messages", None), ("POST", "/messages", {"content": "hi"})],
)
async def test_malformed_and_unknown_chat_ids(member: Actor, method: str, suffix: str, payload: Any) -> None:
    for bad in ("not-a-uuid", "42"):
        err = assert_envelope(await send(member.client, method, f"{CHATS}/{bad}{suffix}", payload), 400)
        assert "chat_id" in {v["field"] for v in err["validations"]}
    assert_envelope(await send(member.client, method, f"{CHATS}/{uuid.uuid4()}{suffix}", payload), 404)


async def test_message_updates_selection(member: Actor, servers: Servers) -> None:
    client = member.client
    chat = await client.create_chat(CreateChatRequest(mcp_server_ids=[servers.off]))

    async def post(payload: dict[str, Any]) -> Chat:
        response = await send(client, "POST", f"{CHATS}/{chat.id}/messages", {"content": "msg"} | payload)
        assert response.status_code == 201, response.text
        return await client.chat(chat.id)

    assert (await post({})).mcp_server_ids == [servers.off]  # absent: unchanged
    assert (await post({"mcp_server_ids": None})).mcp_server_ids == [servers.off]  # null: unchanged
    replaced = await post({"mcp_server_ids": [str(servers.on2), str(servers.on), str(servers.on2)]})
    assert replaced.mcp_server_ids == [servers.on2, servers.on]
    assert replaced.effective_mcp_server_ids == [servers.on2, servers.on, servers.forced]
    cleared = await post({"mcp_server_ids": []})
    assert cleared.mcp_server_ids == []
    assert cleared.effective_mcp_server_ids == [servers.forced]
    assert len(await client.chat_messages(chat.id)) == 4


async def test_message_with_bad_selection_changes_nothing(member: Actor, servers: Servers) -> None:
    chat = await member.client.create_chat(CreateChatRequest(mcp_server_ids=[servers.on]))
    for ids in ([servers.disabled], [servers.on, uuid.uuid4()]):
        payload = {"content": "no", "mcp_server_ids": [str(i) for i in ids]}
        detail = _bad_ids(
            assert_envelope(await send(member.client, "POST", f"{CHATS}/{chat.id}/messages", payload), 400)
        )
        assert str(ids[-1]) in detail
    assert (await member.client.chat(chat.id)).mcp_server_ids == [servers.on]
    assert await member.client.chat_messages(chat.id) == []


async def test_message_is_stored_with_content_parts(member: Actor, servers: Servers) -> None:
    chat = await member.client.create_chat(CreateChatRequest())
    first = await member.client.create_chat_message(chat.id, CreateChatMessageRequest(content="Hello"))
    assert first.chat_id == chat.id
    assert first.role == "user"
    assert first.content == [{"type": "text", "text": "Hello"}]
    second = await member.client.create_chat_message(chat.id, CreateChatMessageRequest(content="  spaced  "))
    assert second.content == [{"type": "text", "text": "  spaced  "}]
    assert await member.client.chat_messages(chat.id) == [first, second]
    raw = await send(member.client, "POST", f"{CHATS}/{chat.id}/messages", {"content": "x"})
    assert raw.status_code == 201
    # The chat loop (issue 10) added seq, queued, model_config_id and usage.
    assert set(raw.json()) == {
        "id",
        "chat_id",
        "role",
        "content",
        "created_at",
        "seq",
        "queued",
        "model_config_id",
        "usage",
    }


@pytest.mark.parametrize("payload", [{}, {"content": ""}, {"content": 5}, {"content": "x", "extra": 1}])
async def test_message_payload_validation(member: Actor, payload: dict[str, Any]) -> None:
    chat = await member.client.create_chat(CreateChatRequest())
    assert_envelope(await send(member.client, "POST", f"{CHATS}/{chat.id}/messages", payload), 400)


async def test_effective_ids_follow_config_changes(owner: Client, member: Actor, servers: Servers) -> None:
    chat = await member.client.create_chat(CreateChatRequest(mcp_server_ids=[servers.on, servers.off]))
    assert chat.effective_mcp_server_ids == [servers.on, servers.off, servers.forced]

    await owner.update_mcp_server(servers.on, UpdateMCPServerConfigRequest(enabled=False))
    await owner.update_mcp_server(servers.forced, UpdateMCPServerConfigRequest(enabled=False))
    await owner.update_mcp_server(servers.disabled_forced, UpdateMCPServerConfigRequest(enabled=True))
    after = await member.client.chat(chat.id)
    assert after.mcp_server_ids == [servers.on, servers.off]  # the selection is the user's
    assert after.effective_mcp_server_ids == [servers.off, servers.disabled_forced]
    listed = {c.id: c for c in await member.client.chats()}
    assert listed[chat.id] == after

    await owner.update_mcp_server(servers.on, UpdateMCPServerConfigRequest(enabled=True))
    assert (await member.client.chat(chat.id)).effective_mcp_server_ids == [
        servers.on,
        servers.off,
        servers.disabled_forced,
    ]


async def test_concurrent_messages_are_serialized(member: Actor, servers: Servers) -> None:
    chat = await member.client.create_chat(CreateChatRequest())
    choices = [[servers.on], [servers.off], [servers.on2, servers.on], []]

    async def post(i: int) -> None:
        ids = choices[i % len(choices)]
        await member.client.create_chat_message(chat.id, CreateChatMessageRequest(content=f"m{i}", mcp_server_ids=ids))

    await asyncio.gather(*(post(i) for i in range(20)))
    assert len(await member.client.chat_messages(chat.id)) == 20
    assert (await member.client.chat(chat.id)).mcp_server_ids in choices


async def test_member_cannot_select_hidden_server(member: Actor, servers: Servers) -> None:
    with pytest.raises(DevplaneError) as err:
        await member.client.create_chat(CreateChatRequest(mcp_server_ids=[servers.disabled]))
    assert err.value.status_code == 400
    assert str(servers.disabled) in str(err.value)
