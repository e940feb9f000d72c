"""No password, token, key or Authorization header value ever reaches a log line.

Runs a full scenario with JSON logging at debug level into a buffer, then greps the buffer
(and everything stdlib logging captured) for every secret the scenario used.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from devplane import logging as devplane_logging
from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.users import (
    CreateAPIKeyRequest,
    CreateFirstUserRequest,
    CreateUserRequest,
    LoginRequest,
    RoleName,
    UpdateUserRequest,
)

OWNER_PW = "Owner-Secret-pw-1111"
MEMBER_PW = "Member-Secret-pw-2222"
CHANGED_PW = "Changed-Secret-pw-3333"
WRONG_PW = "Wrong-Secret-pw-4444"


@pytest.fixture
def log_buffer() -> Iterator[io.StringIO]:
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    devplane_logging.configure("debug", buffer)
    try:
        yield buffer
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers  # configure() may have added a handler on our buffer
        root.setLevel(level)


async def _scenario(anon: Client) -> list[str]:
    """Every kind of request that handles a secret. Returns the secrets it used."""
    secrets = [OWNER_PW, MEMBER_PW, CHANGED_PW, WRONG_PW]
    await anon.create_first_user(CreateFirstUserRequest(email="boss@example.com", username="boss", password=OWNER_PW))
    login = await anon.login(LoginRequest(email="boss@example.com", password=OWNER_PW))
    secrets.append(login.session_token)
    member = await anon.create_user(
        CreateUserRequest(email="m@example.com", username="m", password=MEMBER_PW, roles=[RoleName.AUDITOR])
    )
    key = await anon.create_api_key("me", CreateAPIKeyRequest(name="logged"))
    secrets.append(key)
    await anon.update_user(member.id, UpdateUserRequest(password=CHANGED_PW))
    await anon.update_user("me", UpdateUserRequest(password=CHANGED_PW, old_password=OWNER_PW))
    with pytest.raises(DevplaneError):
        await anon.update_user("me", UpdateUserRequest(password=MEMBER_PW, old_password=WRONG_PW))
    with pytest.raises(DevplaneError):
        await anon.login(LoginRequest(email="m@example.com", password=WRONG_PW))

    http = anon.http
    assert (await http.get("/api/v2/users/me", headers={"Authorization": f"Bearer {key}"})).status_code == 200
    assert (await http.get("/api/v2/users", headers={"Devplane-Session-Token": key})).status_code == 200
    http.cookies.set("devplane_session_token", key)
    assert (await http.get("/api/v2/audit")).status_code == 200
    http.cookies.clear()
    # Tokens in a query string must not be logged with the path either.
    assert (await http.get(f"/api/v2/users/me?devplane_session_token={key}")).status_code == 401
    assert (await http.get("/api/v2/users/me", headers={"Authorization": f"Bearer {WRONG_PW}"})).status_code == 401
    member_login = await http.post("/api/v2/users/login", json={"email": "m@example.com", "password": CHANGED_PW})
    secrets.append(member_login.json()["session_token"])
    await anon.delete_api_key("me", key.split("-")[0])
    await anon.logout()
    return secrets


def _parts(secret: str) -> list[str]:
    # A token's secret half is the sensitive part; check it on its own too.
    return [secret, *([secret.split("-", 1)[1]] if secret.count("-") == 1 and len(secret) == 33 else [])]


async def test_logs_of_a_full_scenario_hold_no_secret(
    anon: Client, settings: Settings, log_buffer: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    request_ids: list[str] = []

    async def remember(response: httpx.Response) -> None:
        request_ids.append(response.headers["x-request-id"])

    anon.http.event_hooks["response"].append(remember)
    secrets = await _scenario(anon)
    secrets += settings.external_token_encryption_keys

    text = log_buffer.getvalue() + "\n" + caplog.text
    lines: list[dict[str, Any]] = [json.loads(line) for line in log_buffer.getvalue().splitlines() if line]
    assert len(lines) >= len(request_ids), "the scenario logged less than one line per request"
    for secret in secrets:
        for part in _parts(secret):
            assert part not in text, f"a secret reached the logs: {part[:4]}…"
    assert "Bearer" not in text

    access = [line for line in lines if line.get("event") == "http.request"]
    assert [line["request_id"] for line in access] == request_ids
    assert all(line["request_id"] for line in access)
    assert all("?" not in line["path"] for line in access)
    assert {line["status"] for line in access} >= {200, 201, 204, 400, 401}


def test_redaction_is_a_second_line_of_defence(log_buffer: io.StringIO) -> None:
    log = structlog.get_logger("test")
    log.info("oops", authorization="Bearer abc", session_token="t0k3n", password="pw-value", user="kept")
    line = json.loads(log_buffer.getvalue().splitlines()[-1])
    assert line["authorization"] == line["session_token"] == line["password"] == "[redacted]"
    assert line["user"] == "kept"
