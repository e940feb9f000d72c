"""Login is rate-limited per account and per client address: 429 with Retry-After."""

from __future__ import annotations

import httpx
import pytest

from devplane.api.state import AppState
from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.sdk.users import CreateFirstUserRequest
from tests.api.conftest import assert_envelope
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME

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
