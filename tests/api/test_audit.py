"""The audit log: what is recorded, with which fields, how it is searched, and who may read it."""

from __future__ import annotations

import datetime as dt

import pytest

from devplane.sdk.audit import AuditLog
from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.users import CreateAPIKeyRequest, LoginRequest, RoleName, UpdateUserRequest, UserStatus
from tests.api.conftest import MakeActor, assert_envelope, fields_named
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, make_user

UA = "devplane-audit-test/1.0"
NEW_PASSWORD = "Changed-pass-4321"


def _as(client: Client, request_id: str) -> Client:
    client.http.headers["X-Request-Id"] = request_id
    return client


async def _scenario(owner: Client) -> dict[str, str]:
    """Run every audited action once, each under its own request id. Returns the ids it made."""
    owner.http.headers["User-Agent"] = UA
    member = await make_user(_as(owner, "rq-create"), username="alice")
    await _as(owner, "rq-update").update_user(
        member.id, UpdateUserRequest(password=NEW_PASSWORD, status=UserStatus.SUSPENDED)
    )
    await _as(owner, "rq-roles").update_roles(member.id, [RoleName.AUDITOR])
    token = await _as(owner, "rq-key-create").create_api_key("me", CreateAPIKeyRequest(name="audited"))
    await _as(owner, "rq-key-delete").delete_api_key("me", token.split("-")[0])
    async with Client(owner.url, transport=owner.http._transport) as other:
        other.http.headers.update({"User-Agent": UA, "X-Request-Id": "rq-login-fail"})
        with pytest.raises(DevplaneError):
            await other.login(LoginRequest(email="alice@example.com", password="Wrong-pass-1234"))
        other.http.headers["X-Request-Id"] = "rq-login-unknown"
        with pytest.raises(DevplaneError):
            await other.login(LoginRequest(email="ghost@example.com", password="Wrong-pass-1234"))
        other.http.headers["X-Request-Id"] = "rq-login"
        await other.login(LoginRequest(email=OWNER_EMAIL, password=OWNER_PASSWORD))
        other.http.headers["X-Request-Id"] = "rq-logout"
        await other.logout()
    await _as(owner, "rq-delete").delete_user(member.id)
    del owner.http.headers["X-Request-Id"]
    return {"member": str(member.id), "key": token.split("-")[0]}


def _by_request(entries: list[AuditLog]) -> dict[str, AuditLog]:
    return {e.request_id: e for e in entries if e.request_id.startswith("rq-")}


async def test_every_change_is_audited_with_context(owner: Client) -> None:
    ids = await _scenario(owner)
    response = await owner.request("GET", "/api/v2/audit", params={"limit": 100})
    for secret in (NEW_PASSWORD, "Member-pass-1234", OWNER_PASSWORD, "$argon2"):
        assert secret not in response.text
    entries = _by_request((await owner.audit_logs(limit=100)).audit_logs)
    owner_id = (await owner.me()).id
    expected = {
        "rq-create": ("create", "user", ids["member"], 201),
        "rq-update": ("write", "user", ids["member"], 200),
        "rq-roles": ("write", "user", ids["member"], 200),
        "rq-key-create": ("create", "api_key", ids["key"], 201),
        "rq-key-delete": ("delete", "api_key", ids["key"], 204),
        "rq-login-fail": ("login", "api_key", "", 401),
        "rq-login-unknown": ("login", "api_key", "", 401),
        "rq-login": ("login", "api_key", None, 201),
        "rq-logout": ("logout", "api_key", None, 200),
        "rq-delete": ("delete", "user", ids["member"], 204),
    }
    assert set(entries) == set(expected)
    for rid, (action, resource_type, resource_id, status) in expected.items():
        e = entries[rid]
        assert (e.action, e.resource_type, e.status_code) == (action, resource_type, status), rid
        if resource_id is not None:
            assert e.resource_id == resource_id, rid
        assert e.ip == "127.0.0.1", rid
        assert e.user_agent == UA, rid
        assert e.time.tzinfo is not None
    for rid in ("rq-create", "rq-update", "rq-roles", "rq-key-create", "rq-key-delete", "rq-delete", "rq-login"):
        assert (entries[rid].user_id, entries[rid].username) == (owner_id, "owner"), rid
    assert entries["rq-login"].resource_id == entries["rq-logout"].resource_id != ""
    assert entries["rq-login-fail"].username == "alice"
    assert (entries["rq-login-unknown"].user_id, entries["rq-login-unknown"].resource_target) == (
        None,
        "ghost@example.com",
    )

    created = entries["rq-create"].diff
    assert created["username"].new == "alice"
    assert created["username"].old is None
    assert created["status"].new == "active"
    assert not any("password" in k for k in created)
    updated = entries["rq-update"].diff
    assert (updated["status"].old, updated["status"].new) == ("active", "suspended")
    secret_keys = [k for k in updated if "password" in k]
    assert secret_keys
    for key in secret_keys:
        assert updated[key].secret
        assert updated[key].old == updated[key].new == "[secret changed]"
    assert (entries["rq-roles"].diff["roles"].old, entries["rq-roles"].diff["roles"].new) == ([], ["auditor"])
    assert entries["rq-delete"].diff["username"].old == "alice"
    assert entries["rq-key-create"].diff["name"].new == "audited"


async def test_failed_changes_leave_no_entry(owner: Client, make_actor: MakeActor) -> None:
    before = (await owner.audit_logs()).count
    with pytest.raises(DevplaneError):
        await make_user(owner, username="owner")  # 409: the username is taken
    member = await make_actor()
    after_member = (await owner.audit_logs()).count
    with pytest.raises(DevplaneError):
        await member.client.update_roles("me", [RoleName.OWNER])  # 403
    assert (await owner.audit_logs()).count == after_member
    assert after_member == before + 2  # the member's creation and login, nothing for the 409


async def test_filters_count_limit_offset(owner: Client) -> None:
    await _scenario(owner)
    everything = await owner.audit_logs(limit=1000)
    assert everything.count == len(everything.audit_logs)
    times = [e.time for e in everything.audit_logs]
    assert times == sorted(times, reverse=True)

    created = await owner.audit_logs("resource_type:user action:create")
    assert {e.resource_target for e in created.audit_logs} == {"owner", "alice"}
    assert created.count == 2
    by_owner = await owner.audit_logs("username:OWNER")
    assert by_owner.count > 0
    assert {e.username for e in by_owner.audit_logs} == {"owner"}
    assert (await owner.audit_logs("resource_type:user action:create username:nobody")).count == 0

    page = await owner.audit_logs(limit=2, offset=1)
    assert page.count == everything.count
    assert [e.id for e in page.audit_logs] == [e.id for e in everything.audit_logs[1:3]]
    assert (await owner.audit_logs(offset=everything.count)).audit_logs == []

    pivot = everything.audit_logs[len(times) // 2].time
    since = await owner.audit_logs(f"since:{pivot.isoformat()}", limit=1000)
    until = await owner.audit_logs(f"until:{pivot.isoformat()}", limit=1000)
    assert all(e.time >= pivot for e in since.audit_logs)
    assert all(e.time < pivot for e in until.audit_logs)
    assert since.count + until.count == everything.count
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (await owner.audit_logs(f"since:{future}")).count == 0


@pytest.mark.parametrize(
    "params",
    [{"q": "bogus"}, {"q": "colour:red"}, {"q": "since:yesterday"}, {"q": "user_id:nope"}],
    ids=["no-colon", "unknown-key", "bad-time", "bad-uuid"],
)
async def test_bad_queries_are_400_naming_q(owner: Client, params: dict[str, str]) -> None:
    response = await owner.http.get("/api/v2/audit", params=params, headers=owner.headers())
    assert fields_named(assert_envelope(response, 400)) == {"q"}


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "5000"}, {"offset": "-1"}, {"limit": "many"}])
async def test_bad_paging_is_400(owner: Client, params: dict[str, str]) -> None:
    response = await owner.http.get("/api/v2/audit", params=params, headers=owner.headers())
    assert fields_named(assert_envelope(response, 400)) == set(params)


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [((), False), ((RoleName.USER_ADMIN,), False), ((RoleName.AUDITOR,), True), ((RoleName.OWNER,), True)],
    ids=["member", "user-admin", "auditor", "owner"],
)
async def test_who_may_read_the_audit_log(make_actor: MakeActor, roles: tuple[RoleName, ...], allowed: bool) -> None:
    actor = await make_actor(*roles)
    response = await actor.client.http.get("/api/v2/audit", headers=actor.client.headers())
    if allowed:
        assert response.status_code == 200
        assert response.json()["count"] >= 3
    else:
        assert_envelope(response, 403)
