"""API keys through the SDK: create (shown once), list (never secrets), revoke, visibility."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.users import CreateAPIKeyRequest, RoleName
from tests.api.conftest import Actor, MakeActor, assert_envelope, fields_named

TOKEN = re.compile(r"^([A-Za-z0-9]{10})-([A-Za-z0-9]{22})$")


async def test_create_list_use_delete(owner: Client, member: Actor) -> None:
    token = await member.client.create_api_key("me", CreateAPIKeyRequest(name="ci", lifetime_seconds=3600))
    match = TOKEN.match(token)
    assert match, token
    key_id, secret = match.groups()

    response = await member.client.request("GET", "/api/v2/users/me/keys")
    assert secret not in response.text
    assert token not in response.text
    assert "hashed" not in response.text
    keys = await member.client.api_keys("me")
    assert [k.id for k in keys] == [key_id]
    key = keys[0]
    assert (key.name, key.login_type, key.lifetime_seconds, key.user_id) == ("ci", "token", 3600, member.user.id)
    assert abs((key.expires_at - key.created_at) - dt.timedelta(hours=1)) < dt.timedelta(seconds=5)

    async with Client(owner.url, token, transport=owner.http._transport) as with_key:
        assert (await with_key.me()).id == member.user.id
        await member.client.delete_api_key("me", key_id)
        with pytest.raises(DevplaneError) as exc:
            await with_key.me()
        assert exc.value.status_code == 401
    assert await member.client.api_keys("me") == []
    with pytest.raises(DevplaneError) as exc:
        await member.client.delete_api_key("me", key_id)
    assert exc.value.status_code == 404


async def test_sessions_are_not_listed_as_api_keys(member: Actor) -> None:
    # The member logged in (a session) but created no key.
    assert await member.client.api_keys("me") == []


async def test_default_lifetime_and_limits(owner: Client) -> None:
    await owner.create_api_key("me")
    (key,) = await owner.api_keys("me")
    assert key.lifetime_seconds == 30 * 24 * 3600
    for lifetime, status in ((59, 400), (10 * 365 * 24 * 3600, 400)):
        response = await owner.http.post(
            "/api/v2/users/me/keys", json={"lifetime_seconds": lifetime}, headers=owner.headers()
        )
        assert fields_named(assert_envelope(response, status)) == {"lifetime_seconds"}
    assert len(await owner.api_keys("me")) == 1


async def test_member_cannot_see_or_delete_another_users_keys(owner: Client, member: Actor) -> None:
    token = await owner.create_api_key("me", CreateAPIKeyRequest(name="owner-key"))
    owner_key = token.split("-")[0]
    owner_id = (await owner.me()).id
    for ref in (owner_id, "owner"):
        with pytest.raises(DevplaneError) as exc:
            await member.client.api_keys(ref)
        assert exc.value.status_code == 404
        with pytest.raises(DevplaneError) as exc:
            await member.client.create_api_key(ref)
        assert exc.value.status_code == 404
        with pytest.raises(DevplaneError) as exc:
            await member.client.delete_api_key(ref, owner_key)
        assert exc.value.status_code == 404
    # Someone else's key id under one's own user is not found either.
    with pytest.raises(DevplaneError) as exc:
        await member.client.delete_api_key("me", owner_key)
    assert exc.value.status_code == 404
    assert [k.id for k in await owner.api_keys("me")] == [owner_key]


async def test_owner_manages_a_members_keys(owner: Client, member: Actor) -> None:
    token = await owner.create_api_key(member.user.username, CreateAPIKeyRequest(name="for-member"))
    key_id = token.split("-")[0]
    assert [k.id for k in await member.client.api_keys("me")] == [key_id]
    # A key id under the wrong user is 404, even for an owner.
    with pytest.raises(DevplaneError) as exc:
        await owner.delete_api_key("me", key_id)
    assert exc.value.status_code == 404
    await owner.delete_api_key(member.user.id, key_id)
    assert await member.client.api_keys("me") == []


async def test_auditor_cannot_manage_others_keys(owner: Client, make_actor: MakeActor) -> None:
    auditor = await make_actor(RoleName.AUDITOR)
    token = await owner.create_api_key("me")
    # The auditor can see the owner (user read) but not their keys: an empty list, no secrets.
    assert await auditor.client.api_keys("owner") == []
    with pytest.raises(DevplaneError) as exc:
        await auditor.client.create_api_key("owner")
    assert exc.value.status_code == 403
    with pytest.raises(DevplaneError) as exc:
        await auditor.client.delete_api_key("owner", token.split("-")[0])
    assert exc.value.status_code == 404
