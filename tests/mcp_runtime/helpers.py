"""Helpers for MCP runtime tests: upstream farms, chat tool routes, gateway clients, OAuth2.

Every helper talks to the live devplane over HTTP, the way users and MCP clients do.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import httpx2
from mcp import Client as MCPClient
from mcp.client.streamable_http import streamable_http_client

from devplane.sdk.chats import Chat, CreateChatRequest
from devplane.sdk.client import Client
from tests.api.mcp_oauth_flow import connect
from tests.factories import login_as, make_user
from tests.fixtures.mcp_servers import RecordedRequest, _ThreadedASGIServer
from tests.fixtures.oauth_server import OAuthServer

EXP = "/api/experimental"
S = TypeVar("S", bound=_ThreadedASGIServer)


class Farm:
    """Upstream servers of one test, stopped together (in parallel) after devplane has shut down.

    Stopping an upstream while devplane still holds its SSE stream costs uvicorn's graceful
    shutdown timeout (1 s); once devplane is gone, a stop is instant.
    """

    def __init__(self) -> None:
        self.servers: list[_ThreadedASGIServer] = []

    def add(self, server: S) -> S:
        server.start()
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        threads = [threading.Thread(target=s.stop) for s in self.servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


async def new_chat(client: Client, server_ids: Sequence[uuid.UUID] | None = None) -> Chat:
    ids = None if server_ids is None else list(server_ids)
    return await client.create_chat(CreateChatRequest(mcp_server_ids=ids))


async def chat_tools(client: Client, chat_id: uuid.UUID, *, refresh: bool = False) -> httpx.Response:
    params = {"refresh": "true"} if refresh else None
    return await client.http.get(f"{EXP}/chats/{chat_id}/tools", params=params, headers=client.headers())


async def tools_ok(client: Client, chat_id: uuid.UUID, *, refresh: bool = False) -> dict[str, Any]:
    response = await chat_tools(client, chat_id, refresh=refresh)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def statuses(body: dict[str, Any]) -> dict[str, str]:
    return {s["slug"]: s["status"] for s in body["servers"]}


async def call(
    client: Client, chat_id: uuid.UUID, name: str, arguments: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    return await client.http.post(
        f"{EXP}/chats/{chat_id}/tools/call",
        json={"name": name, "arguments": arguments or {}},
        headers={**client.headers(), **headers},
    )


async def call_text(client: Client, chat_id: uuid.UUID, name: str, arguments: dict[str, Any] | None = None) -> str:
    response = await call(client, chat_id, name, arguments)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["is_error"] is False, body
    text: str = body["content"][0]["text"]
    return text


async def seen_headers(client: Client, chat_id: uuid.UUID, slug: str) -> dict[str, str]:
    """The HTTP headers the upstream's `headers` tool saw on its tools/call."""
    seen: dict[str, str] = json.loads(await call_text(client, chat_id, f"{slug}__headers"))
    return seen


async def member(admin: Client, username: str) -> Client:
    """A new member, logged in; the caller closes the client."""
    return await login_as(admin, await make_user(admin, username=username))


@asynccontextmanager
async def gateway(url: str, token: str | None, query: str = "") -> AsyncIterator[MCPClient]:
    """The official SDK client on devplane's MCP gateway."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0)) as http:
        target = f"{url}?{query}" if query else url
        async with MCPClient(streamable_http_client(target, http_client=http)) as client:
            yield client


def report(line: str) -> None:
    """Timings and reasons worth reading in the test output (`pytest -s`)."""
    print(line)  # noqa: T201 - the figures are the point; benchmarks print too (bench/)


def oauth2_fields(oauth: OAuthServer) -> dict[str, Any]:
    return {
        "auth_type": "oauth2",
        "oauth2_client_id": oauth.client.client_id,
        "oauth2_client_secret": oauth.client.client_secret or "",
        "oauth2_auth_url": oauth.authorize_url,
        "oauth2_token_url": oauth.token_url,
        "oauth2_revocation_url": oauth.revocation_url,
        "oauth2_scopes": "read write",
        "availability": "default_off",
    }


async def connect_oauth2(client: Client, oauth: OAuthServer, server_id: uuid.UUID, subject: str) -> None:
    """The user's browser flow, end to end; the provider issues the token for `subject`."""
    oauth.subject = subject
    response = await connect(client, server_id)
    assert response.status_code == 200, response.text


def initialize_count(requests: Iterable[RecordedRequest], authorization: str | None = None) -> int:
    return sum(
        r.rpc_methods.count("initialize")
        for r in requests
        if authorization is None or r.headers.get("authorization") == authorization
    )


def assert_no_devplane_credentials(requests: Iterable[RecordedRequest], *tokens: str) -> None:
    """No request carries a devplane token, the devplane session header or its cookie."""
    for request in requests:
        assert "devplane-session-token" not in request.headers, request
        assert "cookie" not in request.headers, request
        for name, value in request.headers.items():
            assert "devplane_session_token" not in value, (name, value)
            for token in tokens:
                assert token not in value, name
        for token in tokens:
            assert token.encode() not in request.body
