"""get_valid_access_token: refresh near expiry, exactly once under concurrency (in one process
and across "replicas"), rotation, permanent and transient failures. Real provider on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest

from devplane.api.state import AppState
from devplane.config import Settings
from devplane.db.database import Database
from devplane.db.mcp_rows import MCPServerUserTokenRow
from devplane.sdk.client import Client
from devplane.sdk.mcp import MCPServerConfig
from devplane.services import mcp_oauth_http
from devplane.services.mcp_oauth_protocol import TokenSet
from devplane.services.mcp_oauth_refresh import (
    AuthRequired,
    SingleFlight,
    TokenRefreshFailed,
    get_valid_access_token,
)
from tests.api.conftest import Actor
from tests.api.mcp_oauth_flow import MCP_URL, connect, create_oauth2_config
from tests.conftest import require_pg
from tests.fixtures.oauth_server import OAuthServer


@pytest.fixture
async def oauth(settings: Settings) -> AsyncIterator[OAuthServer]:
    prefix = f"{settings.effective_access_url}/api/experimental/mcp/servers/"
    async with OAuthServer(redirect_uri_prefixes=prefix) as server:
        yield server


@pytest.fixture
async def config(owner: Client, oauth: OAuthServer) -> MCPServerConfig:
    return await create_oauth2_config(owner, oauth)


async def _connect_expiring(member: Actor, config: MCPServerConfig, oauth: OAuthServer) -> None:
    """Connect with a token that expires inside the 60 s refresh window; refreshed ones live long."""
    oauth.access_token_lifetime = 30
    assert (await connect(member.client, config.id)).status_code == 200
    oauth.access_token_lifetime = 3600


async def _stored(state: AppState, member: Actor, config: MCPServerConfig) -> MCPServerUserTokenRow:
    async with state.db.transaction() as tx:
        return await tx.system("test: read a token").get_mcp_server_user_token(config.id, member.user.id)


async def _connected(client: Client, server_id: uuid.UUID) -> bool:
    return next(s for s in await client.mcp_servers() if s.id == server_id).auth_connected


async def test_a_valid_token_is_returned_without_refresh(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    assert (await connect(member.client, config.id)).status_code == 200
    token = await get_valid_access_token(state.db, member.user.id, config.id)
    assert token.authorization == f"Bearer {token.access_token}"
    assert token.access_token not in repr(token)
    assert oauth.refresh_count == 0


async def test_ten_concurrent_callers_refresh_once_and_the_rotated_token_is_saved(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    await _connect_expiring(member, config, oauth)
    before = await _stored(state, member, config)
    oauth.token_delay = 0.5  # keep the refresh in flight while the others arrive

    tokens = await asyncio.gather(*(get_valid_access_token(state.db, member.user.id, config.id) for _ in range(10)))

    assert oauth.refresh_count == 1
    assert len({t.access_token for t in tokens}) == 1
    fresh = tokens[0]
    assert fresh.access_token != before.access_token
    assert oauth.validate_access_token(fresh.access_token, resource=MCP_URL)
    [refresh] = [r for r in oauth.token_requests if r["grant_type"] == "refresh_token"]
    assert refresh["resource"] == MCP_URL
    assert refresh["_client_auth"] == "client_secret_basic"
    after = await _stored(state, member, config)
    issued = oauth.token_info(fresh.access_token)
    assert issued is not None
    assert after.refresh_token == issued.refresh_token != before.refresh_token  # rotation saved
    old = oauth.token_info(before.refresh_token)
    assert old is not None
    assert old.rotated
    assert after.expiry is not None
    assert after.expiry > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=50)

    oauth.token_delay = 0
    assert (await get_valid_access_token(state.db, member.user.id, config.id)).access_token == fresh.access_token
    assert oauth.refresh_count == 1


async def test_two_replicas_refresh_once_through_the_row_lock(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    # Replicas need PostgreSQL (SQLite's pubsub is in-process too); on SQLite a refresh holds no
    # lock across the provider call and the in-process SingleFlight is the single flight.
    require_pg()
    await _connect_expiring(member, config, oauth)
    oauth.token_delay = 0.5
    # Two engines and two single-flight maps: nothing in-process joins them, only the database.
    other = Database(state.db.url, state.keyring)
    try:
        a, b = await asyncio.gather(
            get_valid_access_token(state.db, member.user.id, config.id, flights=SingleFlight()),
            get_valid_access_token(other, member.user.id, config.id, flights=SingleFlight()),
        )
    finally:
        await other.dispose()
    assert oauth.refresh_count == 1
    assert a.access_token == b.access_token


async def test_a_refresh_in_flight_does_not_stop_other_writers(
    owner: Client, member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    await _connect_expiring(member, config, oauth)
    with oauth.holding_requests():
        pending = asyncio.create_task(get_valid_access_token(state.db, member.user.id, config.id))
        await oauth.wait_for_requests(token=2)  # the connect's exchange, then the refresh
        # On PostgreSQL the refresh holds its token's row lock (and so is a session in an open
        # transaction, on purpose): check only that other writes go through.
        await asyncio.wait_for(create_oauth2_config(owner, oauth, slug="meanwhile"), timeout=5)
        assert not pending.done()
    fresh = await pending
    assert (await _stored(state, member, config)).access_token == fresh.access_token
    assert oauth.refresh_count == 1


async def test_a_reconnect_during_a_refresh_wins(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    await _connect_expiring(member, config, oauth)
    before = await _stored(state, member, config)
    reconnected = dataclasses.replace(
        before,
        access_token="reconnected-access",
        refresh_token="reconnected-refresh",
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )

    async def reconnect() -> None:
        async with state.db.transaction() as tx:
            await tx.system("test: a reconnect's token").upsert_mcp_server_user_token(reconnected)

    with oauth.holding_requests():
        refreshing = asyncio.create_task(get_valid_access_token(state.db, member.user.id, config.id))
        await oauth.wait_for_requests(token=2)
        # SQLite: saved at once, and the refresh then finds the row changed and keeps it.
        # PostgreSQL: waits for the refresh's row lock, then replaces what the refresh saved.
        reconnecting = asyncio.create_task(reconnect())
        await asyncio.sleep(0.2)
    await asyncio.gather(refreshing, reconnecting)
    after = await _stored(state, member, config)
    assert (after.access_token, after.refresh_token) == ("reconnected-access", "reconnected-refresh")
    assert after.refresh_failure_reason == ""
    token = await get_valid_access_token(state.db, member.user.id, config.id)
    assert token.access_token == "reconnected-access"


async def test_a_disconnect_during_a_refresh_is_not_undone(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    await _connect_expiring(member, config, oauth)
    with oauth.holding_requests():
        refreshing = asyncio.create_task(get_valid_access_token(state.db, member.user.id, config.id))
        await oauth.wait_for_requests(token=2)
        disconnecting = asyncio.create_task(member.client.mcp_oauth2_disconnect(config.id))
        await asyncio.sleep(0.2)
    refreshed, _ = await asyncio.gather(refreshing, disconnecting, return_exceptions=True)
    # SQLite: the disconnect went first and the refresh finds no token; PostgreSQL: the disconnect
    # waited for the refresh's row lock, then deleted (and revoked) what it stored.
    assert not isinstance(refreshed, BaseException) or isinstance(refreshed, AuthRequired)
    with pytest.raises(AuthRequired, match="first"):
        await get_valid_access_token(state.db, member.user.id, config.id)
    assert not await _connected(member.client, config.id)


async def test_the_old_refresh_token_is_kept_when_the_provider_sends_none(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _connect_expiring(member, config, oauth)
    before = await _stored(state, member, config)

    async def no_rotation(**_: str) -> TokenSet:
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        return TokenSet(access_token="new-access", refresh_token="", token_type="bearer", expiry=expiry)

    monkeypatch.setattr(mcp_oauth_http, "refresh", no_rotation)
    token = await get_valid_access_token(state.db, member.user.id, config.id)
    after = await _stored(state, member, config)
    assert (token.access_token, after.access_token) == ("new-access", "new-access")
    assert after.refresh_token == before.refresh_token


async def test_invalid_grant_marks_the_token_failed_and_asks_to_reconnect(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    await _connect_expiring(member, config, oauth)
    assert await _connected(member.client, config.id)
    oauth.invalid_grant_on_refresh = True

    with pytest.raises(AuthRequired, match="Connect your account again") as info:
        await get_valid_access_token(state.db, member.user.id, config.id)

    assert info.value.config_id == config.id
    assert "invalid_grant" in (await _stored(state, member, config)).refresh_failure_reason
    assert not await _connected(member.client, config.id)
    with pytest.raises(AuthRequired):  # no second try against the provider
        await get_valid_access_token(state.db, member.user.id, config.id)
    assert oauth.refresh_count == 1

    oauth.invalid_grant_on_refresh = False
    assert (await connect(member.client, config.id)).status_code == 200  # reconnecting clears it
    assert await _connected(member.client, config.id)


async def test_a_transient_failure_raises_without_marking(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    await _connect_expiring(member, config, oauth)
    oauth.fail_next_token_request = True
    with pytest.raises(TokenRefreshFailed):
        await get_valid_access_token(state.db, member.user.id, config.id)
    assert (await _stored(state, member, config)).refresh_failure_reason == ""
    assert await _connected(member.client, config.id)
    await get_valid_access_token(state.db, member.user.id, config.id)
    assert oauth.refresh_count == 2


async def test_not_connected_or_expired_without_refresh_token(
    member: Actor, config: MCPServerConfig, oauth: OAuthServer, state: AppState
) -> None:
    with pytest.raises(AuthRequired, match="first"):
        await get_valid_access_token(state.db, member.user.id, config.id)
    with pytest.raises(AuthRequired, match="first"):  # an unknown config has no token either
        await get_valid_access_token(state.db, member.user.id, uuid.uuid4())

    assert (await connect(member.client, config.id)).status_code == 200
    stored = await _stored(state, member, config)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    async with state.db.transaction() as tx:
        await tx.system("test: expire a token").upsert_mcp_server_user_token(
            dataclasses.replace(stored, refresh_token="", expiry=past)
        )
    with pytest.raises(AuthRequired, match="again"):
        await get_valid_access_token(state.db, member.user.id, config.id)
    assert oauth.refresh_count == 0
    assert not await _connected(member.client, config.id)
