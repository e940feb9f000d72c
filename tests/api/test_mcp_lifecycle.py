"""Slug uniqueness (and the race), what a delete takes with it, and the audit trail (issue 3)."""

from __future__ import annotations

import asyncio
import uuid

from devplane.api.state import AppState
from devplane.sdk.chats import CreateChatRequest
from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.mcp import MCPServerConfig, UpdateMCPServerConfigRequest
from tests.api.conftest import Actor, MakeActor, assert_envelope
from tests.api.mcp_support import SERVERS, api_key_body, body, insert_token, oauth2_body, request, send, tokens_of

RACERS = 50


async def test_duplicate_slug_is_409(owner: Client) -> None:
    """coder's TestMCPServerConfigsUniqueSlug."""
    await owner.create_mcp_server(request(body(slug="dup")))
    err = assert_envelope(await send(owner, "POST", SERVERS, body(slug="dup", display_name="Other")), 409)
    assert err["message"] == "MCP server config already exists."
    assert len(await owner.mcp_servers()) == 1
    # Slugs are case-sensitive by construction: only lowercase is accepted at all.
    assert_envelope(await send(owner, "POST", SERVERS, body(slug="DUP")), 400)


async def test_concurrent_creates_of_one_slug(owner: Client) -> None:
    """Exactly one winner, 49 clean 409s, no 500, on SQLite and PostgreSQL alike."""
    req = request(body(slug="racy"))
    results = await asyncio.gather(*(owner.create_mcp_server(req) for _ in range(RACERS)), return_exceptions=True)
    created = [r for r in results if isinstance(r, MCPServerConfig)]
    errors = [r for r in results if isinstance(r, DevplaneError)]
    others = [r for r in results if not isinstance(r, MCPServerConfig | DevplaneError)]
    assert others == []
    assert len(created) == 1
    assert sorted(e.status_code for e in errors) == [409] * (RACERS - 1), [
        str(e) for e in errors if e.status_code != 409
    ]
    assert [c.id for c in await owner.mcp_servers()] == [created[0].id]


async def test_patch_to_an_existing_slug_is_409(owner: Client) -> None:
    first = await owner.create_mcp_server(request(body(slug="first")))
    second = await owner.create_mcp_server(request(body(slug="second")))
    err = assert_envelope(await send(owner, "PATCH", f"{SERVERS}/{second.id}", {"slug": "first"}), 409)
    assert err["message"] == "MCP server config slug already exists."
    assert await owner.mcp_server(second.id) == second
    # Renaming to its own slug, or to a free one, is fine.
    assert (await owner.update_mcp_server(first.id, UpdateMCPServerConfigRequest(slug="first"))).slug == "first"
    assert (await owner.update_mcp_server(second.id, UpdateMCPServerConfigRequest(slug="third"))).slug == "third"


async def test_delete_strips_chats_and_tokens(owner: Client, make_actor: MakeActor, state: AppState) -> None:
    gone = await owner.create_mcp_server(request(oauth2_body(display_name="Gone")))
    kept = await owner.create_mcp_server(request(oauth2_body(display_name="Kept")))
    alice, bob = await make_actor(), await make_actor()
    me = await owner.me()

    def pick(*ids: uuid.UUID) -> CreateChatRequest:
        return CreateChatRequest(mcp_server_ids=list(ids))

    chats = [
        (alice.client, await alice.client.create_chat(pick(gone.id, kept.id))),
        (alice.client, await alice.client.create_chat(pick(kept.id, gone.id))),
        (alice.client, await alice.client.create_chat(pick(gone.id))),
        (bob.client, await bob.client.create_chat(pick(gone.id))),
        (owner, await owner.create_chat(pick(kept.id))),
    ]
    for user_id in (alice.user.id, bob.user.id, me.id):
        await insert_token(state, gone.id, user_id)
        await insert_token(state, kept.id, user_id)

    await owner.delete_mcp_server(gone.id)

    after = [(await client.chat(chat.id)).mcp_server_ids for client, chat in chats]
    assert after == [[kept.id], [kept.id], [], [], [kept.id]]
    for user_id in (alice.user.id, bob.user.id, me.id):
        assert [t.mcp_server_config_id for t in await tokens_of(state, user_id)] == [kept.id]
    assert_envelope(await send(owner, "DELETE", f"{SERVERS}/{gone.id}"), 404)


async def test_deleting_a_user_deletes_their_tokens(owner: Client, member: Actor, state: AppState) -> None:
    one = await owner.create_mcp_server(request(oauth2_body()))
    two = await owner.create_mcp_server(request(oauth2_body()))
    me = await owner.me()
    for config in (one, two):
        await insert_token(state, config.id, member.user.id)
    await insert_token(state, one.id, me.id)
    assert len(await tokens_of(state, member.user.id)) == 2

    await owner.delete_user(member.user.id)
    assert await tokens_of(state, member.user.id) == []
    assert [t.mcp_server_config_id for t in await tokens_of(state, me.id)] == [one.id]
    # Configs the deleted user had touched survive.
    assert {c.id for c in await owner.mcp_servers()} == {one.id, two.id}


async def test_audit_entries(owner: Client) -> None:
    created = await owner.create_mcp_server(request(api_key_body(slug="audited")))
    await owner.update_mcp_server(
        created.id, UpdateMCPServerConfigRequest(display_name="Audited 2", api_key_value="another-key")
    )
    await owner.update_mcp_server(created.id, UpdateMCPServerConfigRequest())  # no change: no entry
    await owner.delete_mcp_server(created.id)

    logs = (await owner.audit_logs("resource_type:mcp_server_config")).audit_logs
    assert [e.action for e in logs] == ["delete", "write", "create"]
    for entry in logs:
        assert entry.resource_type == "mcp_server_config"
        assert entry.resource_id == str(created.id)
        assert entry.resource_target == "audited"
        assert entry.username == "owner"
    delete, update, create = logs
    assert (create.status_code, update.status_code, delete.status_code) == (201, 200, 204)

    assert create.diff["slug"].new == "audited"
    assert create.diff["api_key_header"].new == "X-Api-Key"
    assert create.diff["api_key_value"].model_dump() == {
        "old": "[secret changed]",
        "new": "[secret changed]",
        "secret": True,
    }
    # Secrets that were never set are not reported as changed.
    assert "oauth2_client_secret" not in create.diff

    assert set(update.diff) == {"display_name", "api_key_value"}
    assert update.diff["display_name"].model_dump() == {"old": "Server audited", "new": "Audited 2", "secret": False}
    assert update.diff["api_key_value"].secret is True
    assert update.diff["api_key_value"].new == "[secret changed]"

    assert delete.diff["slug"].old == "audited"
    assert delete.diff["api_key_value"].secret is True
