"""Plain factory functions for tests (no metaclasses)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import httpx

from devplane.sdk.client import Client
from devplane.sdk.users import CreateUserRequest, LoginRequest, RoleName, User

OWNER_EMAIL = "owner@example.com"
OWNER_USERNAME = "owner"
OWNER_PASSWORD = "Owner-pass-1234"
MEMBER_PASSWORD = "Member-pass-1234"


async def make_user(
    admin: Client, *, username: str | None = None, roles: Sequence[RoleName] = (), password: str = MEMBER_PASSWORD
) -> User:
    name = username or f"user-{secrets.token_hex(3)}"
    return await admin.create_user(
        CreateUserRequest(email=f"{name}@example.com", username=name, password=password, roles=list(roles))
    )


async def login_as(admin: Client, user: User, password: str = MEMBER_PASSWORD) -> Client:
    """A new client logged in as `user`, on the same transport as `admin`. Caller closes it."""
    transport: httpx.AsyncBaseTransport = admin.http._transport
    client = Client(admin.url, transport=transport)
    await client.login(LoginRequest(email=f"{user.username}@example.com", password=password))
    return client
