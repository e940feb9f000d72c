"""The MCP gateway's answer when something fails outside a tool call: the API's 500 envelope."""

from __future__ import annotations

import httpx
import pytest

from devplane.api.app import GATEWAY_PATH
from devplane.api.state import AppState
from devplane.mcp.tokencache import CachedIdentity

LEAK = "password=hunter2 in a driver error"


async def test_a_failing_token_check_is_a_clean_500(
    app_transport: httpx.ASGITransport, state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def database_gone(token: str) -> CachedIdentity:
        raise ConnectionError(LEAK)  # e.g. the database went away mid-check

    monkeypatch.setattr(state.extras["gateway"].tokens, "identify", database_gone)
    async with httpx.AsyncClient(transport=app_transport, base_url="http://devplane.test") as http:
        response = await http.post(
            GATEWAY_PATH,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Authorization": "Bearer abcdefghij-0123456789012345678901"},
        )
    assert response.status_code == 500
    assert response.json() == {
        "message": "An internal error occurred.",
        "detail": "The server logged the details; report the request id.",
    }
    assert LEAK not in response.text
    assert response.headers["x-request-id"]
