"""Fixtures for the web UI's in-process tests: a browser-like client signed in through the forms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest

from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.sdk.users import RoleName
from tests.factories import MEMBER_PASSWORD, OWNER_EMAIL, OWNER_PASSWORD, make_user

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@dataclass
class Browser:
    """An httpx client that behaves like a page: the session cookie, form posts with the CSRF token."""

    http: httpx.AsyncClient
    csrf: str = ""

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = await self.http.get(path, **kwargs)  # type: ignore[arg-type]  # httpx's kwargs are typed per name
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, data: dict[str, str] | list[tuple[str, str]] | None = None) -> httpx.Response:
        items = list(data.items()) if isinstance(data, dict) else list(data or [])
        if not self.csrf:
            await self.get("/account/tokens")
        body = urlencode([*items, ("csrf_token", self.csrf)])  # pairs: a field may repeat (roles)
        return await self.http.post(path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})


MakeBrowser = Callable[..., Awaitable[Browser]]


@pytest.fixture
async def make_browser(app_transport: httpx.ASGITransport, settings: Settings) -> AsyncIterator[MakeBrowser]:
    clients: list[httpx.AsyncClient] = []

    async def make(email: str = OWNER_EMAIL, password: str = OWNER_PASSWORD) -> Browser:
        http = httpx.AsyncClient(transport=app_transport, base_url=settings.effective_access_url)
        clients.append(http)
        response = await http.post("/login", data={"email": email, "password": password, "next": "/account/tokens"})
        assert response.status_code == 303, response.text
        browser = Browser(http)
        await browser.get("/account/tokens")
        return browser

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
async def owner_page(owner: Client, make_browser: MakeBrowser) -> Browser:
    return await make_browser()


@pytest.fixture
async def member_page(owner: Client, make_browser: MakeBrowser) -> Browser:
    user = await make_user(owner, username="mia")
    return await make_browser(f"{user.username}@example.com", MEMBER_PASSWORD)


@pytest.fixture
async def auditor_page(owner: Client, make_browser: MakeBrowser) -> Browser:
    user = await make_user(owner, username="audrey", roles=[RoleName.AUDITOR])
    return await make_browser(f"{user.username}@example.com", MEMBER_PASSWORD)
