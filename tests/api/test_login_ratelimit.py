"""Login is rate-limited per account and per client address: 429 with Retry-After."""

from __future__ import annotations

import httpx
import pytest

from devplane.api.app import create_app
from devplane.api.state import AppState
from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.sdk.users import CreateFirstUserRequest
from tests.api.conftest import assert_envelope
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME
from tests.live import live_server

LIMIT = 3
WINDOW = 60


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with a login limit low enough to hit."""
    return settings.model_copy(update={"login_rate_limit": LIMIT, "login_rate_window_seconds": WINDOW})


@pytest.fixture
async def first_user(anon: Client) -> None:
    # Created without logging in, so no attempt is counted yet.
    await anon.create_first_user(
        CreateFirstUserRequest(email=OWNER_EMAIL, username=OWNER_USERNAME, password=OWNER_PASSWORD)
    )


async def _login(
    app_transport: httpx.ASGITransport, ip: str, email: str, password: str, forwarded_for: str = ""
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_transport.app, client=(ip, 40000))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://devplane.test") as http:
        return await http.post("/api/v2/users/login", json={"email": email, "password": password}, headers=headers)


def _retry_after(response: httpx.Response) -> int:
    assert_envelope(response, 429)
    value = int(response.headers["retry-after"])
    assert 0 < value <= WINDOW
    return value


@pytest.mark.usefixtures("first_user")
async def test_per_account_limit(app_transport: httpx.ASGITransport) -> None:
    for n in range(LIMIT):
        response = await _login(app_transport, f"10.0.0.{n}", OWNER_EMAIL, "Wrong-pass-1234")
        assert response.status_code == 401
    # A new address and the right password: the account is still locked for now.
    _retry_after(await _login(app_transport, "10.0.1.1", OWNER_EMAIL, OWNER_PASSWORD))
    # The address limit is separate: that address can still try another account.
    response = await _login(app_transport, "10.0.1.1", "someone@example.com", "x")
    assert response.status_code == 401


@pytest.mark.usefixtures("first_user")
async def test_per_address_limit(app_transport: httpx.ASGITransport) -> None:
    for n in range(LIMIT):
        response = await _login(app_transport, "10.9.9.9", f"nobody{n}@example.com", "x")
        assert response.status_code == 401
    _retry_after(await _login(app_transport, "10.9.9.9", OWNER_EMAIL, OWNER_PASSWORD))
    response = await _login(app_transport, "10.9.9.10", OWNER_EMAIL, OWNER_PASSWORD)
    assert response.status_code == 201


@pytest.mark.usefixtures("first_user")
async def test_limit_lifts_after_the_window(app_transport: httpx.ASGITransport, state: AppState) -> None:
    now = [1000.0]
    state.login_limiter.clock = lambda: now[0]
    for _ in range(LIMIT):
        assert (await _login(app_transport, "10.5.5.5", OWNER_EMAIL, "Wrong-pass-1234")).status_code == 401
    assert _retry_after(await _login(app_transport, "10.5.5.5", OWNER_EMAIL, OWNER_PASSWORD)) == WINDOW
    now[0] += WINDOW / 2
    assert _retry_after(await _login(app_transport, "10.5.5.5", OWNER_EMAIL, OWNER_PASSWORD)) == WINDOW // 2
    now[0] += WINDOW / 2 + 1
    assert (await _login(app_transport, "10.5.5.5", OWNER_EMAIL, OWNER_PASSWORD)).status_code == 201


@pytest.mark.usefixtures("first_user")
async def test_forwarded_for_is_ignored_unless_proxies_are_trusted(app_transport: httpx.ASGITransport) -> None:
    # Without --trusted-proxies a client cannot pick a fresh address per attempt.
    for n in range(LIMIT):
        response = await _login(app_transport, "10.7.7.7", f"n{n}@example.com", "x", forwarded_for=f"192.0.2.{n}")
        assert response.status_code == 401
    _retry_after(await _login(app_transport, "10.7.7.7", OWNER_EMAIL, OWNER_PASSWORD, forwarded_for="192.0.2.99"))


def test_the_served_app_ignores_forwarded_for_too(settings: Settings) -> None:
    # Through uvicorn, as `devplane server` runs it: uvicorn alone would take X-Forwarded-For
    # as the client address for any connection from 127.0.0.1 (its proxy_headers default).
    first = {"email": OWNER_EMAIL, "username": OWNER_USERNAME, "password": OWNER_PASSWORD}
    with live_server(settings) as live, httpx.Client(base_url=live.url) as http:
        assert http.post("/api/v2/users/first", json=first).status_code == 201
        for n in range(LIMIT):
            response = http.post(
                "/api/v2/users/login",
                json={"email": f"n{n}@example.com", "password": "x"},
                headers={"X-Forwarded-For": f"192.0.2.{n}"},
            )
            assert response.status_code == 401
        response = http.post(
            "/api/v2/users/login",
            json={"email": OWNER_EMAIL, "password": OWNER_PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.99"},
        )
        _retry_after(response)


@pytest.mark.usefixtures("first_user")
async def test_behind_a_trusted_proxy_the_address_it_saw_counts(settings: Settings, state: AppState) -> None:
    # The proxy appends the address it saw; whatever the client sent comes before it.
    state.settings = settings.model_copy(update={"trusted_proxies": True})
    app = create_app(state.settings, state)
    transport = httpx.ASGITransport(app=app)
    for n in range(LIMIT):
        response = await _login(
            transport, "127.0.0.1", f"p{n}@example.com", "x", forwarded_for=f"192.0.2.{n}, 203.0.113.5"
        )
        assert response.status_code == 401
    # Same client (203.0.113.5), another made-up address in front: still limited.
    _retry_after(
        await _login(transport, "127.0.0.1", OWNER_EMAIL, OWNER_PASSWORD, forwarded_for="198.51.100.1, 203.0.113.5")
    )
    # Another client behind the same proxy is not.
    response = await _login(transport, "127.0.0.1", OWNER_EMAIL, OWNER_PASSWORD, forwarded_for="203.0.113.6")
    assert response.status_code == 201
