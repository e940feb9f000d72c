"""Issue 9: after any error answer, 500 included, the keep-alive connection serves the next
request (or the answer said `Connection: close`). One raw connection, a live uvicorn server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import structlog

from devplane.config import Settings
from devplane.db.sql_store import SqlStore
from devplane.logging import configure
from devplane.sdk.chats import Chat
from tests.api.http_raw import RawConnection
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME
from tests.live import live_server


def _sign_in(base: str) -> str:
    with httpx.Client(base_url=base, timeout=30) as http:
        http.post(
            "/api/v2/users/first",
            json={"email": OWNER_EMAIL, "username": OWNER_USERNAME, "password": OWNER_PASSWORD},
        ).raise_for_status()
        login = http.post("/api/v2/users/login", json={"email": OWNER_EMAIL, "password": OWNER_PASSWORD})
        login.raise_for_status()
        token: str = login.json()["session_token"]
        return token


@pytest.fixture
def server_logging() -> Iterator[None]:
    """The server's own JSON logging: the test default (structlog's rich console renderer)
    takes tens of seconds to draw a traceback on a busy machine, longer than a client waits."""
    previous = structlog.get_config()
    configure("debug")
    try:
        yield
    finally:
        structlog.configure(**previous)


@pytest.mark.usefixtures("server_logging")
def test_connection_serves_the_next_request_after_errors(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: SqlStore, *args: object) -> list[Chat]:
        raise RuntimeError("injected fault: a store bug")

    with live_server(settings) as server:
        token = _sign_in(server.url)
        auth = {"Authorization": f"Bearer {token}"}
        conn = RawConnection(server.url)
        try:
            ok = conn.request("GET", "/api/v2/users/me", headers=auth)
            assert ok.status == 200, ok.body

            monkeypatch.setattr(SqlStore, "list_chats_by_owner", broken)
            failed = conn.request("GET", "/api/experimental/chats", headers=auth)
            assert failed.status == 500
            assert json.loads(failed.body)["message"] == "An internal error occurred."
            monkeypatch.undo()

            # Every error kind, then a success, all on the same connection.
            not_found = conn.request("GET", "/api/v2/users/nobody-here", headers=auth)
            assert not_found.status == 404
            bad = conn.request("POST", "/api/experimental/chats", headers=auth, body=b"{not json")
            assert bad.status == 400
            unauthorized = conn.request("GET", "/api/v2/users/me")
            assert unauthorized.status == 401
            after = conn.request("GET", "/api/v2/users/me", headers=auth)
            assert after.status == 200
            assert json.loads(after.body)["username"] == OWNER_USERNAME
            for answer in (failed, not_found, bad, unauthorized):
                assert answer.headers.get("connection", "").lower() != "close"
        finally:
            conn.close()
    assert "RuntimeError" in server.logs.getvalue()
