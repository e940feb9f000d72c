"""Users through the SDK: first user, reading, creating, updating, roles, deleting."""

from __future__ import annotations

import asyncio

import pytest

from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.users import (
    CreateFirstUserRequest,
    CreateUserRequest,
    LoginRequest,
    RoleName,
    UpdateUserRequest,
    UserStatus,
)
from tests.api.conftest import Actor, MakeActor, assert_envelope, fields_named
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME, make_user

FIRST = CreateFirstUserRequest(email=OWNER_EMAIL, username=OWNER_USERNAME, password=OWNER_PASSWORD)


async def test_first_user_404_then_201_then_409(anon: Client) -> None:
    assert_envelope(await anon.http.get("/api/v2/users/first"), 404)
    assert not await anon.has_first_user()
    user = await anon.create_first_user(FIRST)
    assert [r.value for r in user.roles] == ["owner"]
    assert user.email == OWNER_EMAIL
    assert user.status is UserStatus.ACTIVE
    assert await anon.has_first_user()
    again = FIRST.model_copy(update={"username": "second", "email": "second@example.com"})
    with pytest.raises(DevplaneError) as exc:
        await anon.create_first_user(again)
    assert exc.value.status_code == 409


async def test_concurrent_first_user_requests_make_one_owner(anon: Client) -> None:
    bodies = [{"email": f"u{n}@example.com", "username": f"u{n}", "password": OWNER_PASSWORD} for n in range(4)]
    responses = await asyncio.gather(*(anon.http.post("/api/v2/users/first", json=b) for b in bodies))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]


@pytest.mark.parametrize(
    "password",
    ["short1A", "alllowercaseletters", "12345678901", "aaaaaaaaaaaA1", "x" * 300],
    ids=["too-short", "one-class", "digits-only", "too-few-distinct", "too-long"],
)
async def test_weak_first_user_password_is_400_naming_password(anon: Client, password: str) -> None:
    body = {"email": OWNER_EMAIL, "username": OWNER_USERNAME, "password": password}
    response = await anon.http.post("/api/v2/users/first", json=body)
    assert fields_named(assert_envelope(response, 400)) == {"password"}
    assert not await anon.has_first_user()


async def test_first_user_username_is_folded_to_lowercase(anon: Client) -> None:
    body = {"email": OWNER_EMAIL, "username": " Alice ", "password": OWNER_PASSWORD}
    response = await anon.http.post("/api/v2/users/first", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["username"] == "alice"
    # The SDK's request model folds the same way, so the CLI sends what the server stores.
    assert CreateFirstUserRequest(email=OWNER_EMAIL, username="ALICE", password=OWNER_PASSWORD).username == "alice"


async def test_usernames_are_folded_then_validated(owner: Client, member: Actor) -> None:
    body = {"email": "bob@example.com", "username": "Bob_Smith-2", "password": "New-pass-1234"}
    response = await owner.http.post("/api/v2/users", json=body, headers=owner.headers())
    assert response.status_code == 201, response.text
    assert response.json()["username"] == "bob_smith-2"
    assert (await owner.user("BOB_SMITH-2")).username == "bob_smith-2"
    # Folded first, so a name that only differs in case is the same name.
    clash = {**body, "email": "bob2@example.com", "username": "BOB_SMITH-2"}
    assert_envelope(await owner.http.post("/api/v2/users", json=clash, headers=owner.headers()), 409)
    renamed = await member.client.update_user("me", UpdateUserRequest(username="ReNamed"))
    assert renamed.username == "renamed"
    # Still validated after folding: 33 letters, inner spaces, a leading '-', a non-ASCII look-alike
    # of 'k' (the Kelvin sign lowercases to a plain 'k').
    for bad in ("A" * 33, "Al ice", "-Alice", "\u212aate"):
        response = await owner.http.post(
            "/api/v2/users", json={**body, "email": "x@example.com", "username": bad}, headers=owner.headers()
        )
        assert fields_named(assert_envelope(response, 400)) == {"username"}, bad


async def test_weak_password_on_create_and_patch(owner: Client, member: Actor) -> None:
    with pytest.raises(DevplaneError) as exc:
        await make_user(owner, password="weak")
    assert exc.value.status_code == 400
    assert fields_named(exc.value) == {"password"}
    with pytest.raises(DevplaneError) as exc:
        await owner.update_user(member.user.id, UpdateUserRequest(password="aaaaaaaa"))
    assert exc.value.status_code == 400
    assert fields_named(exc.value) == {"password"}


async def test_me_list_and_get_by_id_username_me(owner: Client, member: Actor) -> None:
    me = await owner.me()
    assert me.username == OWNER_USERNAME
    assert {u.username for u in await owner.users()} == {OWNER_USERNAME, member.user.username}
    for ref in (member.user.id, member.user.username, member.user.username.upper()):
        got = await owner.user(ref)
        assert got.id == member.user.id
        assert got.email == member.user.email
    assert (await member.client.user("me")).id == member.user.id
    assert (await owner.user("me")).id == me.id


async def test_member_sees_only_themself(owner: Client, member: Actor) -> None:
    listed = await member.client.users()
    assert [u.id for u in listed] == [member.user.id]
    assert listed[0].email == member.user.email
    owner_id = (await owner.me()).id
    for ref in (owner_id, OWNER_USERNAME, "nobody"):
        with pytest.raises(DevplaneError) as exc:
            await member.client.user(ref)
        assert exc.value.status_code == 404


async def test_auditor_reads_users_but_not_their_email(owner: Client, make_actor: MakeActor) -> None:
    auditor = await make_actor(RoleName.AUDITOR)
    users = {u.username: u for u in await auditor.client.users()}
    assert set(users) == {OWNER_USERNAME, auditor.user.username}
    assert users[OWNER_USERNAME].email is None
    assert users[auditor.user.username].email == auditor.user.email


@pytest.mark.parametrize(
    ("roles", "status"),
    [((RoleName.OWNER,), 201), ((RoleName.USER_ADMIN,), 201), ((), 403), ((RoleName.AUDITOR,), 403)],
    ids=["owner", "user-admin", "member", "auditor"],
)
async def test_who_may_create_users(
    owner: Client, make_actor: MakeActor, roles: tuple[RoleName, ...], status: int
) -> None:
    actor = await make_actor(*roles)
    req = CreateUserRequest(email="new@example.com", username="new-user", password="New-pass-1234")
    response = await actor.client.http.post(
        "/api/v2/users", json=req.model_dump(mode="json"), headers=actor.client.headers()
    )
    if status == 201:
        assert response.status_code == 201, response.text
        assert response.json()["username"] == "new-user"
        assert "password" not in response.text
        assert "hashed" not in response.text
    else:
        assert_envelope(response, status)
        assert "new-user" not in {u.username for u in await owner.users()}


async def test_duplicate_username_or_email_is_409(owner: Client, member: Actor) -> None:
    for username, email in ((member.user.username, "fresh@example.com"), ("fresh", member.user.email or "")):
        with pytest.raises(DevplaneError) as exc:
            await owner.create_user(CreateUserRequest(email=email, username=username, password="New-pass-1234"))
        assert exc.value.status_code == 409


async def test_changing_own_password_requires_old_password(owner: Client, member: Actor) -> None:
    client = member.client
    for old in (None, "Wrong-pass-1234"):
        with pytest.raises(DevplaneError) as exc:
            await client.update_user("me", UpdateUserRequest(password="Brand-new-9876", old_password=old))
        assert exc.value.status_code == 400
        assert fields_named(exc.value) == {"old_password"}
    await client.update_user("me", UpdateUserRequest(password="Brand-new-9876", old_password=member.password))
    email = member.user.email or ""
    with pytest.raises(DevplaneError) as exc:
        await client.login(LoginRequest(email=email, password=member.password))
    assert exc.value.status_code == 401
    await client.login(LoginRequest(email=email, password="Brand-new-9876"))
    # An admin resets someone else's password without knowing the old one.
    await owner.update_user(member.user.id, UpdateUserRequest(password="Admin-set-5555"))
    await client.login(LoginRequest(email=email, password="Admin-set-5555"))


async def test_member_cannot_touch_other_users(owner: Client, member: Actor, make_actor: MakeActor) -> None:
    other = await make_actor()
    for call in (
        member.client.update_user(other.user.id, UpdateUserRequest(status=UserStatus.SUSPENDED)),
        member.client.update_user(other.user.id, UpdateUserRequest(username="renamed")),
        member.client.delete_user(other.user.id),
        member.client.update_roles(other.user.id, [RoleName.AUDITOR]),
    ):
        with pytest.raises(DevplaneError) as exc:
            await call
        assert exc.value.status_code == 404
    assert (await owner.user(other.user.id)).status is UserStatus.ACTIVE
    with pytest.raises(DevplaneError) as exc:
        await member.client.update_roles("me", [RoleName.OWNER])
    assert exc.value.status_code == 403


async def test_suspend_blocks_login_and_existing_keys_then_activate(owner: Client, member: Actor) -> None:
    api_key = await member.client.create_api_key("me")
    suspended = await owner.update_user(member.user.id, UpdateUserRequest(status=UserStatus.SUSPENDED))
    assert suspended.status is UserStatus.SUSPENDED
    with pytest.raises(DevplaneError) as exc:
        await member.client.me()
    assert exc.value.status_code == 401
    member.client.token = api_key
    with pytest.raises(DevplaneError) as exc:
        await member.client.me()
    assert exc.value.status_code == 401
    assert "suspended" in exc.value.message
    with pytest.raises(DevplaneError) as exc:
        await member.client.login(LoginRequest(email=member.user.email or "", password=member.password))
    assert exc.value.status_code == 401
    await owner.update_user(member.user.id, UpdateUserRequest(status=UserStatus.ACTIVE))
    assert (await member.client.me()).id == member.user.id
    await member.client.login(LoginRequest(email=member.user.email or "", password=member.password))


async def test_cannot_change_own_status_or_delete_self(owner: Client) -> None:
    with pytest.raises(DevplaneError) as exc:
        await owner.update_user("me", UpdateUserRequest(status=UserStatus.SUSPENDED))
    assert exc.value.status_code == 400
    with pytest.raises(DevplaneError) as exc:
        await owner.delete_user("me")
    assert exc.value.status_code == 400
    assert (await owner.me()).status is UserStatus.ACTIVE


async def test_roles_user_admin_cannot_grant_owner(owner: Client, make_actor: MakeActor, member: Actor) -> None:
    admin = await make_actor(RoleName.USER_ADMIN)
    updated = await admin.client.update_roles(member.user.id, [RoleName.AUDITOR])
    assert [r.value for r in updated.roles] == ["auditor"]
    for roles in ([RoleName.OWNER], [RoleName.AUDITOR, RoleName.OWNER]):
        with pytest.raises(DevplaneError) as exc:
            await admin.client.update_roles(member.user.id, roles)
        assert exc.value.status_code == 403
    with pytest.raises(DevplaneError) as exc:
        await make_user(admin.client, roles=[RoleName.OWNER])
    assert exc.value.status_code == 403
    with pytest.raises(DevplaneError) as exc:
        await admin.client.update_roles(OWNER_USERNAME, [])
    assert exc.value.status_code == 403
    assert [r.value for r in (await owner.user(member.user.id)).roles] == ["auditor"]
    # `member` is implied, never stored.
    assert (await owner.update_roles(member.user.id, [RoleName.MEMBER])).roles == []


async def test_last_owner_cannot_be_removed(owner: Client, member: Actor) -> None:
    with pytest.raises(DevplaneError) as exc:
        await owner.update_roles("me", [])
    assert exc.value.status_code == 400
    assert [r.value for r in (await owner.me()).roles] == ["owner"]
    await owner.update_roles(member.user.id, [RoleName.OWNER])
    assert (await owner.update_roles("me", [])).roles == []
    # The former owner is now a plain member: the remaining owner is out of their sight.
    with pytest.raises(DevplaneError) as exc:
        await owner.update_roles(member.user.id, [])
    assert exc.value.status_code == 404
    assert [r.value for r in (await member.client.me()).roles] == ["owner"]


async def test_delete_user(owner: Client, member: Actor, make_actor: MakeActor) -> None:
    admin = await make_actor(RoleName.USER_ADMIN)
    with pytest.raises(DevplaneError) as exc:
        await admin.client.delete_user(OWNER_USERNAME)
    assert exc.value.status_code == 403
    await admin.client.delete_user(member.user.username)
    with pytest.raises(DevplaneError) as exc:
        await owner.user(member.user.id)
    assert exc.value.status_code == 404
    with pytest.raises(DevplaneError) as exc:
        await member.client.me()
    assert exc.value.status_code == 401
    with pytest.raises(DevplaneError) as exc:
        await owner.delete_user(member.user.id)
    assert exc.value.status_code == 404


async def test_patch_profile_and_conflicts(owner: Client, member: Actor, make_actor: MakeActor) -> None:
    renamed = await member.client.update_user("me", UpdateUserRequest(username="renamed", email="New@Example.com"))
    assert renamed.username == "renamed"
    assert renamed.email == "new@example.com"
    other = await make_actor()
    with pytest.raises(DevplaneError) as exc:
        await other.client.update_user("me", UpdateUserRequest(username="renamed"))
    assert exc.value.status_code == 409
