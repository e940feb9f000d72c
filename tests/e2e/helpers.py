"""API set-up for browser tests: the owner's bearer client (the JSON API, like the CLI)."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.factories import MEMBER_PASSWORD, OWNER_EMAIL, OWNER_PASSWORD


def api(base: str, email: str = OWNER_EMAIL, password: str = OWNER_PASSWORD) -> httpx.Client:
    token = httpx.post(f"{base}/api/v2/users/login", json={"email": email, "password": password}).json()[
        "session_token"
    ]
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=20)


def create_server(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    slug = overrides.pop("slug", f"srv-{secrets.token_hex(3)}")
    body: dict[str, Any] = {
        "display_name": slug.title(),
        "slug": slug,
        "transport": "streamable_http",
        "url": "http://127.0.0.1:9/mcp",
        "auth_type": "none",
        "availability": "default_on",
        "enabled": True,
    }
    body.update(overrides)
    response = client.post("/api/experimental/mcp/servers", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def create_member(client: httpx.Client, username: str, roles: list[str] | None = None) -> str:
    email = f"{username}@example.com"
    response = client.post(
        "/api/v2/users", json={"email": email, "username": username, "password": MEMBER_PASSWORD, "roles": roles or []}
    )
    assert response.status_code == 201, response.text
    return email
