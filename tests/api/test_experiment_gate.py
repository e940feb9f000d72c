"""Every /api/experimental route answers 403 while the `agents` experiment is off (issue 3).

The routes are read from the app's router, so a route added later is covered without editing
this file.
"""

from __future__ import annotations

import re
import uuid

from fastapi.routing import iter_route_contexts

from devplane.api.app import create_app
from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.sdk.users import CreateFirstUserRequest, LoginRequest
from tests.api.conftest import custom_server
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME

PREFIX = "/api/experimental"
GATED = {"message": "Experiment 'agents' is not enabled."}
# Routes that exist today; the gate test must see at least these (it sees new ones too).
KNOWN = {
    ("GET", "/api/experimental/mcp/servers"),
    ("POST", "/api/experimental/mcp/servers"),
    ("GET", "/api/experimental/mcp/servers/{server_id}"),
    ("PATCH", "/api/experimental/mcp/servers/{server_id}"),
    ("DELETE", "/api/experimental/mcp/servers/{server_id}"),
    ("GET", "/api/experimental/chats"),
    ("POST", "/api/experimental/chats"),
    ("GET", "/api/experimental/chats/{chat_id}"),
    ("GET", "/api/experimental/chats/{chat_id}/messages"),
    ("POST", "/api/experimental/chats/{chat_id}/messages"),
}


def experimental_routes(settings: Settings) -> list[tuple[str, str]]:
    # iter_route_contexts walks included routers too (FastAPI keeps them nested in app.routes).
    app = create_app(settings)
    return sorted(
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path and route.path.startswith(PREFIX)
        for method in route.methods or ()
        if method != "HEAD"
    )


def test_route_listing_sees_the_known_routes(settings: Settings) -> None:
    routes = set(experimental_routes(settings))
    assert routes >= KNOWN, KNOWN - routes


async def _assert_gated(client: Client, routes: list[tuple[str, str]]) -> None:
    for method, template in routes:
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), template)
        payload: dict[str, object] | None = {} if method in ("POST", "PATCH", "PUT") else None
        response = await client.http.request(method, path, json=payload, headers=client.headers())
        assert response.status_code == 403, (method, template, response.text)
        assert response.json() == GATED, (method, template)


async def test_every_experimental_route_is_gated(settings: Settings) -> None:
    routes = experimental_routes(settings)
    assert set(routes) >= KNOWN
    async with custom_server(settings, experiments=[]) as client:
        await _assert_gated(client, routes)  # before signing in: the gate answers first
        await client.create_first_user(
            CreateFirstUserRequest(email=OWNER_EMAIL, username=OWNER_USERNAME, password=OWNER_PASSWORD)
        )
        await client.login(LoginRequest(email=OWNER_EMAIL, password=OWNER_PASSWORD))
        await _assert_gated(client, routes)  # an owner is gated too
        # The rest of the API is not.
        assert (await client.me()).username == OWNER_USERNAME


async def test_openapi_lists_only_routed_paths(settings: Settings) -> None:
    """Every experimental path in the OpenAPI document is one the gate test walks."""
    routed = {path for _, path in experimental_routes(settings)}
    async with custom_server(settings, experiments=[]) as client:
        document = (await client.http.get("/api/v2/openapi.json")).json()
    documented = {p for p in document["paths"] if p.startswith(PREFIX)}
    assert documented
    assert documented <= routed
