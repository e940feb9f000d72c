"""The token endpoint against a live devplane: codes, rotation with grace, replay, revocation,
audience binding, and secrets never stored in the clear."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import httpx2
from sqlalchemy import inspect, text

from devplane.config import Settings
from devplane.db.engine import make_engine
from devplane.sdk.client import Client
from devplane.sdk.oauth2 import CreateOAuth2AppRequest
from tests.live import LiveServer
from tests.oauth2.conftest import exchange, get_code, register_client, token_request


async def _sql(settings: Settings, statement: str, **params: object) -> list[tuple[object, ...]]:
    engine = make_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return [tuple(r) for r in result.fetchall()] if result.returns_rows else []
    finally:
        await engine.dispose()


async def _gateway_status(live: LiveServer, token: str) -> int:
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    async with httpx2.AsyncClient() as http:
        resp = await http.post(live.gateway, json=body, headers={"Authorization": f"Bearer {token}"})
    return resp.status_code


async def _tokens(live: LiveServer, browser: httpx2.AsyncClient) -> tuple[str, dict[str, str]]:
    client_id = str((await register_client(live))["client_id"])
    resp = await exchange(live, client_id, await get_code(browser, client_id))
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body: dict[str, str] = resp.json()
    return client_id, body


async def _refresh(live: LiveServer, client_id: str, refresh_token: str) -> httpx2.Response:
    return await token_request(
        live, {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token}
    )


async def test_code_is_single_use_and_reuse_revokes_what_it_minted(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient
) -> None:
    client_id = str((await register_client(live))["client_id"])
    code = await get_code(browser, client_id)
    first = await exchange(live, client_id, code)
    assert first.status_code == 200, first.text
    access = first.json()["access_token"]
    assert await _gateway_status(live, access) == 200
    second = await exchange(live, client_id, code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert await _gateway_status(live, access) == 401
    refreshed = await _refresh(live, client_id, first.json()["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"


async def test_concurrent_refreshes_succeed_and_a_late_replay_kills_the_family(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient, provider_settings: Settings
) -> None:
    client_id, tokens = await _tokens(live, browser)
    old = tokens["refresh_token"]
    answers = await asyncio.gather(*(_refresh(live, client_id, old) for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    new_tokens = [a.json() for a in answers]
    assert len({t["refresh_token"] for t in new_tokens}) == 4
    live_access = new_tokens[0]["access_token"]
    assert await _gateway_status(live, live_access) == 200
    # Move the rotation of the old token past the grace window, then replay it.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=120)
    prefix = old.split("_")[1]
    await _sql(
        provider_settings,
        "UPDATE oauth2_provider_app_tokens SET rotated_at = :at WHERE hash_prefix = :p",
        at=past,
        p=prefix,
    )
    replay = await _refresh(live, client_id, old)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The whole family is gone: every descendant refresh token and access token.
    assert await _gateway_status(live, live_access) == 401
    for t in new_tokens:
        assert (await _refresh(live, client_id, t["refresh_token"])).status_code == 400
    audits = await admin.audit_logs(limit=100)
    assert "refresh token replayed" in audits.model_dump_json()


async def test_refresh_after_access_expiry_and_suspended_user(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient, provider_settings: Settings
) -> None:
    client_id, tokens = await _tokens(live, browser)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await _sql(
        provider_settings, "UPDATE api_keys SET expires_at = :at WHERE login_type = 'oauth2_provider_app'", at=past
    )
    assert await _gateway_status(live, tokens["access_token"]) == 401
    refreshed = await _refresh(live, client_id, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert await _gateway_status(live, refreshed.json()["access_token"]) == 200
    await _sql(provider_settings, "UPDATE users SET status = 'suspended'")
    denied = await _refresh(live, client_id, refreshed.json()["refresh_token"])
    assert denied.status_code == 400
    assert denied.json()["error"] == "invalid_grant"


async def test_revoke_refresh_token_and_access_token(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient
) -> None:
    client_id, tokens = await _tokens(live, browser)
    async with httpx2.AsyncClient(base_url=live.url) as http:
        resp = await http.post("/oauth2/revoke", data={"client_id": client_id, "token": tokens["access_token"]})
        assert resp.status_code == 200, resp.text
        assert await _gateway_status(live, tokens["access_token"]) == 401
        resp = await http.post("/oauth2/revoke", data={"client_id": client_id, "token": tokens["refresh_token"]})
        assert resp.status_code == 200
        assert (await _refresh(live, client_id, tokens["refresh_token"])).status_code == 400
        # Unknown tokens are not an error (RFC 7009 §2.2).
        resp = await http.post("/oauth2/revoke", data={"client_id": client_id, "token": "nonsense"})
        assert resp.status_code == 200


async def test_user_lists_and_revokes_authorized_apps(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient
) -> None:
    client_id, tokens = await _tokens(live, browser)
    apps = await admin.my_oauth2_apps()
    assert [str(a.app_id) for a in apps] == [client_id]
    assert apps[0].audiences == [live.gateway]
    await admin.revoke_my_oauth2_app(client_id)
    assert await admin.my_oauth2_apps() == []
    assert await _gateway_status(live, tokens["access_token"]) == 401
    assert (await _refresh(live, client_id, tokens["refresh_token"])).status_code == 400


async def test_no_table_holds_an_issued_secret(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient, provider_settings: Settings
) -> None:
    registration = await register_client(live, token_endpoint_auth_method="client_secret_post")
    client_id, secret = str(registration["client_id"]), str(registration["client_secret"])
    code = await get_code(browser, client_id)
    resp = await exchange(live, client_id, code, client_secret=secret)
    assert resp.status_code == 200, resp.text
    issued = [secret, code, str(registration["registration_access_token"]), *resp.json().values()]
    issued = [s for s in issued if isinstance(s, str) and len(s) > 20]
    secret_parts = [s.rsplit("_", 1)[-1].rsplit("-", 1)[-1] for s in issued]
    tables = await _table_names(provider_settings)
    assert "oauth2_provider_app_tokens" in tables
    for table in tables:
        for row in await _sql(provider_settings, f"SELECT * FROM {table}"):  # noqa: S608 - table names from the catalog
            dump = repr(row)
            for part in secret_parts:
                assert part not in dump, f"{table} holds an issued secret"


async def _table_names(settings: Settings) -> list[str]:
    engine = make_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            names: list[str] = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            return names
    finally:
        await engine.dispose()


async def test_apps_secrets_grants_and_revocations_are_audited(
    live: LiveServer, admin: Client, browser: httpx2.AsyncClient
) -> None:
    app = await admin.create_oauth2_app(
        CreateOAuth2AppRequest(name="Audited", redirect_uris=["https://audited.example/cb"])
    )
    created = await admin.create_oauth2_app_secret(app.id)
    await admin.delete_oauth2_app_secret(app.id, created.secret.id)
    await admin.delete_oauth2_app(app.id)
    client_id, tokens = await _tokens(live, browser)
    await admin.revoke_my_oauth2_app(client_id)
    logs = (await admin.audit_logs(limit=200)).audit_logs
    seen = {(log.action, log.resource_type) for log in logs}
    expected = {
        ("create", "oauth2_provider_app"),
        ("delete", "oauth2_provider_app"),
        ("create", "oauth2_provider_app_secret"),
        ("delete", "oauth2_provider_app_secret"),
        ("register", "oauth2_provider_app"),
        ("grant", "oauth2_provider_app"),
        ("revoke", "oauth2_provider_app"),
        ("write", "oauth2_provider_settings"),
    }
    assert expected <= seen, expected - seen
    dump = json.dumps([log.model_dump(mode="json") for log in logs])
    for secret in (created.client_secret, tokens["access_token"], tokens["refresh_token"]):
        assert secret.rsplit("_", 1)[-1].rsplit("-", 1)[-1] not in dump
