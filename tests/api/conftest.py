"""Fixtures for API tests: clients logged in with a given role, and envelope checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devplane.api.app import create_app, start
from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.users import RoleName, User
from tests.factories import MEMBER_PASSWORD, login_as, make_user

ENVELOPE_KEYS = {"message", "detail", "validations"}


@dataclass
class Actor:
    user: User
    client: Client
    password: str


MakeActor = Callable[..., Awaitable[Actor]]


@pytest.fixture
async def make_actor(owner: Client) -> AsyncIterator[MakeActor]:
    """`await make_actor(RoleName.AUDITOR)`: a new user with those roles, logged in."""
    clients: list[Client] = []

    async def make(*roles: RoleName, username: str | None = None, password: str = MEMBER_PASSWORD) -> Actor:
        user = await make_user(owner, username=username, roles=roles, password=password)
        client = await login_as(owner, user, password)
        clients.append(client)
        return Actor(user=user, client=client, password=password)

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def member(make_actor: MakeActor) -> Actor:
    return await make_actor()


def assert_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an error with `status` and exactly the envelope's shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) <= ENVELOPE_KEYS, f"unexpected keys in error body: {body}"
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body.get("detail", ""), str)
    for item in body.get("validations") or []:
        assert set(item) == {"field", "detail"}
        assert isinstance(item["field"], str)
        assert item["field"]
        assert isinstance(item["detail"], str)
        assert item["detail"]
    return body


def fields_named(error: DevplaneError | dict[str, Any]) -> set[str]:
    """The `validations[].field` values of an error (SDK exception or raw body)."""
    if isinstance(error, DevplaneError):
        return {v.field for v in error.response.validations or []}
    return {v["field"] for v in error.get("validations") or []}


@asynccontextmanager
async def custom_server(settings: Settings, **overrides: Any) -> AsyncIterator[Client]:
    """An anonymous client on a separately started app whose settings differ from the fixture's."""
    custom = settings.model_copy(update=overrides)
    state = await start(custom)
    try:
        transport = httpx.ASGITransport(app=create_app(custom, state))
        async with Client(custom.effective_access_url, transport=transport) as client:
            yield client
    finally:
        await state.db.dispose()
