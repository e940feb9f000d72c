"""Secrets never leave: not in any response, the audit log, the JSON logs, nor the raw database.

coder's TestMCPServerConfigsSecretsNeverLeaked, widened to every place a secret could end up.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
import structlog
from sqlalchemy import select

import devplane.logging
from devplane.api.state import AppState
from devplane.db.models import Base
from devplane.sdk.client import Client
from devplane.sdk.users import RoleName
from tests.api.conftest import MakeActor, assert_envelope
from tests.api.mcp_support import (
    API_KEY,
    CLIENT_SECRET,
    HEADER_VALUE,
    SENTINELS,
    SERVERS,
    api_key_body,
    body,
    headers_body,
    insert_token,
    oauth2_body,
    send,
)


@pytest.fixture
def json_logs() -> Iterator[StringIO]:
    """The server's structured logs, as JSON lines, for the duration of the test."""
    stream = StringIO()
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers = list(root.handlers)
    access_disabled = logging.getLogger("uvicorn.access").disabled
    devplane.logging.configure("debug", stream=stream)
    try:
        yield stream
    finally:
        structlog.configure(**saved)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        logging.getLogger("uvicorn.access").disabled = access_disabled


def _assert_clean(where: str, text: str) -> None:
    for sentinel in SENTINELS:
        assert sentinel not in text, f"{sentinel} leaked into {where}"


async def _exercise(owner: Client, member: Client, state: AppState) -> list[tuple[str, str]]:
    """Create, update, list and get configs carrying every kind of secret; return every body seen."""
    seen: list[tuple[str, str]] = []

    async def call(who: Client, method: str, path: str, payload: Any = None, status: int = 200) -> Any:
        response = await send(who, method, path, payload)
        assert response.status_code == status, response.text
        seen.append((f"{method} {path}", response.text))
        return response.json() if response.content else {}

    oauth = await call(owner, "POST", SERVERS, oauth2_body(display_name="A oauth"), 201)
    key = await call(owner, "POST", SERVERS, api_key_body(display_name="B key"), 201)
    headers = await call(owner, "POST", SERVERS, headers_body(display_name="C headers"), 201)
    assert oauth["has_oauth2_secret"] is True
    assert key["has_api_key"] is True
    assert headers["has_custom_headers"] is True
    assert headers["custom_header_names"] == ["X-Env", "X-Team"]

    me = (await owner.me()).id
    for user_id in (me, (await member.me()).id):
        await insert_token(state, uuid.UUID(oauth["id"]), user_id)

    # Updates that send secrets (again, or new ones) answer without them too.
    await call(owner, "PATCH", f"{SERVERS}/{oauth['id']}", {"oauth2_client_secret": CLIENT_SECRET + "-v2"})
    await call(owner, "PATCH", f"{SERVERS}/{key['id']}", {"api_key_value": API_KEY + "-v2", "description": "d"})
    updated = await call(owner, "PATCH", f"{SERVERS}/{headers['id']}", {"custom_headers": {"X-Only": HEADER_VALUE}})
    assert updated["custom_header_names"] == ["X-Only"]

    for who in (owner, member):
        listed = await call(who, "GET", SERVERS)
        assert [c["has_oauth2_secret"] or c["has_api_key"] or c["has_custom_headers"] for c in listed] == [True] * 3
        for config in (oauth, key, headers):
            await call(who, "GET", f"{SERVERS}/{config['id']}")

    # Refused payloads must not echo what they carried either.
    for payload in (
        body(api_key_value=API_KEY),  # a secret of another auth type
        headers_body(custom_headers={"Bad Name": HEADER_VALUE}),
        headers_body(custom_headers={"X-Ok": HEADER_VALUE + "\r\nX-Evil: 1"}),
        api_key_body(api_key_value=API_KEY * 400),  # over the length limit
        oauth2_body(oauth2_client_secret=["not", CLIENT_SECRET]),
    ):
        response = await send(owner, "POST", SERVERS, payload)
        assert_envelope(response, 400)
        seen.append(("refused POST", response.text))
    return seen


async def _database_text(state: AppState) -> str:
    """Every row of every table, as text."""
    chunks: list[str] = []
    async with state.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in await conn.execute(select(table)):
                chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


async def test_secrets_never_leak(owner: Client, make_actor: MakeActor, state: AppState, json_logs: StringIO) -> None:
    member = await make_actor()
    auditor = await make_actor(RoleName.AUDITOR)
    seen = await _exercise(owner, member.client, state)
    for where, text in seen:
        _assert_clean(where, text)

    for who in (owner, auditor.client):
        audit = await send(who, "GET", "/api/v2/audit", params={"q": "resource_type:mcp_server_config"})
        assert audit.status_code == 200
        assert len(audit.json()["audit_logs"]) == 6
        _assert_clean("the audit log API", audit.text)

    logs = json_logs.getvalue()
    # The capture works, so a clean result means something.
    assert any(json.loads(line).get("event") == "http.request" for line in logs.splitlines() if line.startswith("{"))
    _assert_clean("the logs", logs)

    db_text = await _database_text(state)
    assert "mcp_server_configs" in str(Base.metadata.tables)
    assert db_text
    _assert_clean("the database", db_text)
    if state.db.dialect == "sqlite":
        await state.db.dispose()
        files = sorted(state.settings.data_dir.glob("devplane.db*"))
        assert files
        for path in files:
            raw = path.read_bytes()
            for sentinel in SENTINELS:
                assert sentinel.encode() not in raw, f"{sentinel} is in {path.name}"
