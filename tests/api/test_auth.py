"""Login, logout, the session cookie, and every way a token can be presented or be wrong."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from devplane.api.state import AppState
from devplane.config import Settings
from devplane.crypto import tokens
from devplane.db.rows import APIKeyRow
from devplane.sdk.client import Client
from tests.api.conftest import Actor, assert_envelope, custom_server
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD

COOKIE = "devplane_session_token"
LOGIN = {"email": OWNER_EMAIL, "password": OWNER_PASSWORD}


def _cookie_attributes(response: httpx.Response) -> tuple[str, set[str], dict[str, str]]:
    (header,) = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    first, *attrs = [part.strip() for part in header.split(";")]
    flags = {a.lower() for a in attrs if "=" not in a}
    values = {k.lower(): v for k, _, v in (a.partition("=") for a in attrs if "=" in a)}
    assert first.startswith(f"{COOKIE}=")
    return first.split("=", 1)[1], flags, values


async def _me(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> httpx.Response:
    return await http.get("/api/v2/users/me", headers=headers or {})


async def test_login_sets_an_httponly_lax_cookie(owner: Client, settings: Settings) -> None:
    response = await owner.http.post("/api/v2/users/login", json=LOGIN)
    assert response.status_code == 201
    token = response.json()["session_token"]
    assert tokens.split(token) is not None
    value, flags, values = _cookie_attributes(response)
    assert value == token
    assert "httponly" in flags
    assert values["samesite"].lower() == "lax"
    assert "secure" not in flags, "an http:// access URL must not get Secure cookies"
    assert values["path"] == "/"
    assert int(values["max-age"]) == settings.session_duration_seconds


async def test_cookie_is_secure_behind_an_https_access_url(owner: Client, settings: Settings) -> None:
    async with custom_server(settings, access_url="https://devplane.example.com") as client:
        response = await client.http.post("/api/v2/users/login", json=LOGIN)
        assert response.status_code == 201
        _, flags, _ = _cookie_attributes(response)
        assert "secure" in flags


async def test_session_lifetime_is_the_configured_duration(owner: Client, state: AppState) -> None:
    key_id = (owner.token or "").split("-")[0]
    async with state.db.session() as tx:
        key = await tx.system("test: read session key").get_api_key_by_id(key_id)
    assert key.login_type == "password"
    assert key.expires_at - key.created_at == dt.timedelta(seconds=state.settings.session_duration_seconds)


@pytest.mark.parametrize(
    "body",
    [{"email": OWNER_EMAIL, "password": "Wrong-pass-1234"}, {"email": "nobody@example.com", "password": "x"}],
    ids=["wrong-password", "unknown-email"],
)
async def test_bad_login_is_401_with_one_message(owner: Client, body: dict[str, str]) -> None:
    response = await owner.http.post("/api/v2/users/login", json=body)
    assert assert_envelope(response, 401)["message"] == "Incorrect email or password."
    assert "set-cookie" not in response.headers


async def test_logout_revokes_the_token_and_clears_the_cookie(owner: Client) -> None:
    token = owner.token or ""
    response = await owner.http.post("/api/v2/users/logout", headers=owner.headers())
    assert response.status_code == 200
    value, _, values = _cookie_attributes(response)
    assert value in ("", '""')
    assert values["max-age"] == "0"
    body = assert_envelope(await _me(owner.http, {"Devplane-Session-Token": token}), 401)
    assert "revoked" in body["message"]
    assert_envelope(await owner.http.post("/api/v2/users/logout", headers={"Devplane-Session-Token": token}), 401)


async def test_every_header_and_the_cookie_authenticate(owner: Client) -> None:
    token = owner.token or ""
    for headers in ({"Authorization": f"Bearer {token}"}, {"Devplane-Session-Token": token}):
        response = await _me(owner.http, headers)
        assert response.status_code == 200, headers
        assert response.json()["username"] == "owner"
    owner.http.cookies.set(COOKIE, token)
    try:
        assert (await _me(owner.http)).status_code == 200
    finally:
        owner.http.cookies.clear()


async def test_header_wins_over_cookie(owner: Client, member: Actor) -> None:
    owner.http.cookies.set(COOKIE, owner.token or "")
    try:
        for header in ("Devplane-Session-Token", "Authorization"):
            value = member.client.token or ""
            value = f"Bearer {value}" if header == "Authorization" else value
            response = await _me(owner.http, {header: value})
            assert response.json()["id"] == str(member.user.id)
        # A bad header is not rescued by a good cookie.
        assert_envelope(await _me(owner.http, {"Devplane-Session-Token": "garbage"}), 401)
    finally:
        owner.http.cookies.clear()


async def _expired_token(state: AppState, user_id: uuid.UUID) -> str:
    generated = tokens.generate()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    async with state.db.transaction() as tx:
        await tx.system("test: plant an expired key").insert_api_key(
            APIKeyRow(
                id=generated.key_id,
                user_id=user_id,
                hashed_secret=generated.hashed_secret,
                name="expired",
                login_type="token",
                lifetime_seconds=60,
                expires_at=past + dt.timedelta(seconds=60),
                created_at=past,
                last_used_at=past,
            )
        )
    return generated.token


async def test_token_failures_are_401_with_a_message(owner: Client, state: AppState) -> None:
    me = (await owner.me()).id
    good = owner.token or ""
    key_id, secret = good.split("-")
    revoked = await owner.create_api_key("me")
    await owner.delete_api_key("me", revoked.split("-")[0])
    cases = {
        "missing": {},
        "empty bearer": {"Authorization": "Bearer "},
        "malformed": {"Devplane-Session-Token": "not-a-token"},
        "three parts": {"Devplane-Session-Token": f"{key_id}-{secret}-x"},
        "short secret": {"Devplane-Session-Token": f"{key_id}-{secret[:-1]}"},
        "non-alphanumeric": {"Devplane-Session-Token": f"{key_id}-{secret[:-1]}!"},
        "unknown id": {"Devplane-Session-Token": f"{tokens.random_string(10)}-{secret}"},
        "wrong secret": {"Authorization": f"Bearer {key_id}-{tokens.random_string(22)}"},
        "expired": {"Devplane-Session-Token": await _expired_token(state, me)},
        "revoked": {"Devplane-Session-Token": revoked},
    }
    messages = {}
    for name, headers in cases.items():
        body = assert_envelope(await _me(owner.http, headers), 401)
        messages[name] = body["message"]
    assert messages["malformed"] == "Invalid API key format."
    assert messages["expired"] == "API key expired."
    assert messages["wrong secret"] == messages["unknown id"] == messages["revoked"]
    assert (await _me(owner.http, {"Devplane-Session-Token": good})).status_code == 200
