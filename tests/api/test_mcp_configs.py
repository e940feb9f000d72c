"""MCP server configs: CRUD, who sees what, ids in paths, and `auth_connected` (issue 3)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from devplane.api.state import AppState
from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.mcp import AuthType, Availability, UpdateMCPServerConfigRequest
from devplane.sdk.users import RoleName
from tests.api.conftest import Actor, MakeActor, assert_envelope
from tests.api.mcp_support import (
    SERVERS,
    api_key_body,
    body,
    headers_body,
    insert_token,
    oauth2_body,
    request,
    send,
)

REDACTED_FIELDS = (
    "url",
    "transport",
    "oauth2_client_id",
    "oauth2_auth_url",
    "oauth2_token_url",
    "oauth2_revocation_url",
    "oauth2_scopes",
    "api_key_header",
)


async def test_crud_lifecycle(owner: Client) -> None:
    """coder's TestMCPServerConfigsCRUD, plus GET by id and 404 after delete."""
    created = await owner.create_mcp_server(request(oauth2_body(slug="sentry", display_name="Sentry")))
    assert created.slug == "sentry"
    assert created.display_name == "Sentry"
    assert created.auth_type is AuthType.OAUTH2
    assert created.oauth2_client_id == "client-123"
    assert created.oauth2_auth_url == "https://idp.example.com/authorize"
    assert created.oauth2_token_url == "https://idp.example.com/token"
    assert created.oauth2_revocation_url == "https://idp.example.com/revoke"
    assert created.oauth2_scopes == "read write"
    assert created.url == "https://mcp.example.com/mcp"
    assert created.transport == "streamable_http"
    assert created.has_oauth2_secret
    assert not created.has_api_key
    assert not created.has_custom_headers
    assert created.availability is Availability.DEFAULT_ON
    assert created.enabled
    assert created.tool_allow_list == []
    assert created.tool_deny_list == []

    assert [c.id for c in await owner.mcp_servers()] == [created.id]
    assert await owner.mcp_server(created.id) == created

    updated = await owner.update_mcp_server(
        created.id, UpdateMCPServerConfigRequest(display_name="Sentry EU", availability=Availability.FORCE_ON)
    )
    assert updated.display_name == "Sentry EU"
    assert updated.availability is Availability.FORCE_ON
    assert updated.slug == "sentry"
    assert updated.auth_type is AuthType.OAUTH2
    assert updated.has_oauth2_secret
    assert updated.created_at == created.created_at
    assert updated.updated_at >= created.updated_at
    assert await owner.mcp_server(created.id) == updated

    await owner.delete_mcp_server(created.id)
    assert await owner.mcp_servers() == []
    with pytest.raises(DevplaneError) as err:
        await owner.mcp_server(created.id)
    assert err.value.status_code == 404


async def test_status_codes_and_empty_list(owner: Client) -> None:
    empty = await send(owner, "GET", SERVERS)
    assert empty.status_code == 200
    assert empty.text == "[]"

    created = await send(owner, "POST", SERVERS, body())
    assert created.status_code == 201, created.text
    config_id = created.json()["id"]
    assert (await send(owner, "GET", f"{SERVERS}/{config_id}")).status_code == 200
    assert (await send(owner, "PATCH", f"{SERVERS}/{config_id}", {"description": "d"})).status_code == 200
    deleted = await send(owner, "DELETE", f"{SERVERS}/{config_id}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await send(owner, "GET", SERVERS)).text == "[]"


async def test_signed_in_users_only(anon: Client, owner: Client) -> None:
    created = await owner.create_mcp_server(request(body()))
    for method, path, payload in [
        ("GET", SERVERS, None),
        ("GET", f"{SERVERS}/{created.id}", None),
        ("POST", SERVERS, body()),
        ("PATCH", f"{SERVERS}/{created.id}", {"display_name": "x"}),
        ("DELETE", f"{SERVERS}/{created.id}", None),
    ]:
        assert_envelope(await send(anon, method, path, payload), 401)
    assert await owner.mcp_servers() == [created]


async def test_list_is_ordered_by_display_name(owner: Client) -> None:
    for name in ("Charlie", "Alpha", "Delta", "Bravo"):
        await owner.create_mcp_server(request(body(display_name=name)))
    assert [c.display_name for c in await owner.mcp_servers()] == ["Alpha", "Bravo", "Charlie", "Delta"]


async def _enabled_and_disabled(owner: Client) -> tuple[uuid.UUID, uuid.UUID]:
    enabled = await owner.create_mcp_server(
        request(oauth2_body(display_name="A enabled", api_key_header="", tool_allow_list=["search"]))
    )
    disabled = await owner.create_mcp_server(request(api_key_body(display_name="B disabled", enabled=False)))
    return enabled.id, disabled.id


async def test_member_sees_enabled_configs_redacted(owner: Client, member: Actor) -> None:
    """coder's TestMCPServerConfigsNonAdmin, plus the redaction of every connection detail."""
    enabled_id, disabled_id = await _enabled_and_disabled(owner)
    headers = await owner.create_mcp_server(request(headers_body(display_name="C headers")))

    assert {c.id for c in await owner.mcp_servers()} == {enabled_id, disabled_id, headers.id}
    raw = (await send(member.client, "GET", SERVERS)).json()
    assert [c["id"] for c in raw] == [str(enabled_id), str(headers.id)]
    for item in raw:
        for name in REDACTED_FIELDS:
            assert item.get(name, "") == "", (name, item)
        assert item["custom_header_names"] == []
    oauth, hdrs = raw
    # What a member may know: identity, auth type, presence flags, tool filters, availability.
    assert oauth["auth_type"] == "oauth2"
    assert oauth["has_oauth2_secret"] is True
    assert oauth["tool_allow_list"] == ["search"]
    assert hdrs["has_custom_headers"] is True

    one = (await send(member.client, "GET", f"{SERVERS}/{enabled_id}")).json()
    assert one == oauth
    assert_envelope(await send(member.client, "GET", f"{SERVERS}/{disabled_id}"), 404)


async def test_admin_sees_custom_header_names(owner: Client) -> None:
    created = await owner.create_mcp_server(request(headers_body()))
    assert created.custom_header_names == ["X-Env", "X-Team"]
    assert created.has_custom_headers


async def test_auditor_sees_everything_unredacted_but_cannot_write(owner: Client, make_actor: MakeActor) -> None:
    auditor = await make_actor(RoleName.AUDITOR)
    enabled_id, disabled_id = await _enabled_and_disabled(owner)
    assert await auditor.client.mcp_servers() == await owner.mcp_servers()
    seen = await auditor.client.mcp_server(disabled_id)
    assert seen.api_key_header == "X-Api-Key"
    assert seen.url == "https://mcp.example.com/mcp"
    assert seen.transport == "streamable_http"
    assert (await auditor.client.mcp_server(enabled_id)).oauth2_client_id == "client-123"
    await _assert_cannot_write(auditor.client, enabled_id)


async def _assert_cannot_write(client: Client, config_id: uuid.UUID) -> None:
    attempts = [
        ("POST", SERVERS, body()),
        ("PATCH", f"{SERVERS}/{config_id}", {"display_name": "taken over"}),
        # An invalid body is refused for the caller first: 403 does not depend on the payload.
        ("PATCH", f"{SERVERS}/{config_id}", {"slug": "NOT A SLUG"}),
        ("DELETE", f"{SERVERS}/{config_id}", None),
        ("DELETE", f"{SERVERS}/{uuid.uuid4()}", None),
    ]
    for method, path, payload in attempts:
        assert_envelope(await send(client, method, path, payload), 403)


async def test_member_gets_403_on_every_write(owner: Client, member: Actor) -> None:
    enabled_id, disabled_id = await _enabled_and_disabled(owner)
    await _assert_cannot_write(member.client, enabled_id)
    await _assert_cannot_write(member.client, disabled_id)
    with pytest.raises(DevplaneError) as err:
        await member.client.create_mcp_server(request(body()))
    assert err.value.status_code == 403
    # Nothing changed.
    assert {c.display_name for c in await owner.mcp_servers()} == {"A enabled", "B disabled"}


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("GET", "", None),
        ("PATCH", "", {"display_name": "x"}),
        ("DELETE", "", None),
    ],
)
async def test_malformed_and_unknown_ids(owner: Client, method: str, suffix: str, payload: object) -> None:
    for bad in ("not-a-uuid", "1234", "00000000-0000-0000-0000-00000000000g"):
        err = assert_envelope(await send(owner, method, f"{SERVERS}/{bad}{suffix}", payload), 400)
        assert "server_id" in {v["field"] for v in err.get("validations") or []}
    assert_envelope(await send(owner, method, f"{SERVERS}/{uuid.uuid4()}{suffix}", payload), 404)


async def test_get_by_id_matrix(owner: Client, member: Actor) -> None:
    enabled_id, disabled_id = await _enabled_and_disabled(owner)
    assert (await owner.mcp_server(disabled_id)).enabled is False
    assert (await member.client.mcp_server(enabled_id)).url == ""
    for client in (owner, member.client):
        assert_envelope(await send(client, "GET", f"{SERVERS}/{uuid.uuid4()}"), 404)
        assert_envelope(await send(client, "GET", f"{SERVERS}/not-a-uuid"), 400)
    # Disabled and unknown look the same to a member.
    disabled = assert_envelope(await send(member.client, "GET", f"{SERVERS}/{disabled_id}"), 404)
    unknown = assert_envelope(await send(member.client, "GET", f"{SERVERS}/{uuid.uuid4()}"), 404)
    assert disabled == unknown


# --- auth_connected -------------------------------------------------------------------------


async def test_auth_connected_without_token(owner: Client, member: Actor) -> None:
    """coder's TestMCPServerConfigsAuthConnected: oauth2 needs a token; other types never do."""
    oauth = await owner.create_mcp_server(request(oauth2_body()))
    assert oauth.auth_connected is False
    others = [await owner.create_mcp_server(request(data)) for data in (body(), api_key_body(), headers_body())]
    assert all(c.auth_connected for c in others)
    for client in (owner, member.client):
        listed = {c.id: c.auth_connected for c in await client.mcp_servers()}
        assert listed == {oauth.id: False} | {c.id: True for c in others}
        assert (await client.mcp_server(oauth.id)).auth_connected is False


@pytest.mark.parametrize(
    ("expires_in", "refresh_token", "failure", "connected"),
    [
        pytest.param(None, "", "", True, id="no-expiry"),
        pytest.param(dt.timedelta(hours=1), "", "", True, id="unexpired"),
        pytest.param(dt.timedelta(hours=-1), "", "", False, id="expired-no-refresh"),
        pytest.param(dt.timedelta(hours=-1), "refresh-me", "", True, id="expired-refreshable"),
        pytest.param(dt.timedelta(hours=1), "refresh-me", "invalid_grant", False, id="refresh-failed"),
    ],
)
async def test_auth_connected_with_token(
    owner: Client,
    member: Actor,
    state: AppState,
    expires_in: dt.timedelta | None,
    refresh_token: str,
    failure: str,
    connected: bool,
) -> None:
    oauth = await owner.create_mcp_server(request(oauth2_body()))
    await insert_token(
        state, oauth.id, member.user.id, expires_in=expires_in, refresh_token=refresh_token, failure=failure
    )
    assert (await member.client.mcp_server(oauth.id)).auth_connected is connected
    assert [c.auth_connected for c in await member.client.mcp_servers()] == [connected]
    # The token is the member's: the owner is not connected through it.
    assert (await owner.mcp_server(oauth.id)).auth_connected is False


async def test_auth_connected_filled_in_on_create_and_update(owner: Client, state: AppState) -> None:
    me = await owner.me()
    oauth = await owner.create_mcp_server(request(oauth2_body()))
    assert oauth.auth_connected is False
    await insert_token(state, oauth.id, me.id)
    updated = await owner.update_mcp_server(oauth.id, UpdateMCPServerConfigRequest(description="now connected"))
    assert updated.auth_connected is True
    plain = await owner.create_mcp_server(request(body()))
    assert plain.auth_connected is True
    assert (await owner.update_mcp_server(plain.id, UpdateMCPServerConfigRequest(enabled=False))).auth_connected
