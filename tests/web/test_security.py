"""CSP and companion headers on every HTML answer; CSRF on pages and cookie-authenticated API
calls; same-origin `next`; htmx hardening; templates without inline script, style or handlers."""

from __future__ import annotations

import re

import httpx
import pytest

from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.web import templating
from devplane.web.forms import safe_next
from devplane.web.security import CSP
from tests.web.conftest import Browser

PAGES = (
    "/chats",
    "/admin/mcp-servers",
    "/admin/mcp-servers/new",
    "/admin/users",
    "/admin/audit",
    "/account/tokens",
    "/account/connections",
    "/api/v2/docs",
)


def _assert_html_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CSP
    for directive in (
        "default-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ):
        assert directive in CSP
    assert "unsafe-inline" not in CSP
    assert "unsafe-eval" not in CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in response.headers["permissions-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_every_page_sends_the_strict_csp(owner_page: Browser) -> None:
    for path in PAGES:
        response = await owner_page.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        _assert_html_headers(response)


async def test_signed_out_pages_and_errors_send_it_too(owner: Client, app_transport: httpx.ASGITransport) -> None:
    async with httpx.AsyncClient(transport=app_transport, base_url="http://devplane.test") as http:
        _assert_html_headers(await http.get("/login"))
        _assert_html_headers(await http.get("/setup", follow_redirects=True))


async def test_signed_out_page_redirects_to_login_with_next(owner: Client, app_transport: httpx.ASGITransport) -> None:
    async with httpx.AsyncClient(transport=app_transport, base_url="http://devplane.test") as http:
        page = await http.get("/admin/audit?username=x")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/admin/audit%3Fusername%3Dx"
        fragment = await http.get("/admin/mcp-servers", headers={"HX-Request": "true"})
        assert fragment.status_code == 401
        assert fragment.headers["hx-redirect"] == "/login?next=/admin/mcp-servers"
        login = await http.get(page.headers["location"])
        assert 'name="next" value="/admin/audit?username=x"' in login.text


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/admin/audit?page=2", "/admin/audit?page=2"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        ("", "/"),
    ],
)
def test_next_is_same_origin_relative_only(given: str, expected: str) -> None:
    assert safe_next(given) == expected


async def test_login_follows_a_safe_next_only(owner: Client, app_transport: httpx.ASGITransport) -> None:
    from tests.factories import OWNER_EMAIL, OWNER_PASSWORD

    async with httpx.AsyncClient(transport=app_transport, base_url="http://devplane.test") as http:
        for given, expected in (("/admin/users", "/admin/users"), ("//evil.example/x", "/")):
            response = await http.post("/login", data={"email": OWNER_EMAIL, "password": OWNER_PASSWORD, "next": given})
            assert response.status_code == 303
            assert response.headers["location"] == expected
            assert "httponly" in response.headers["set-cookie"].lower()


async def test_page_posts_need_the_csrf_token_and_our_origin(owner_page: Browser) -> None:
    data = {"name": "ci", "lifetime_days": "7"}
    missing = await owner_page.http.post("/account/tokens", data=data)
    assert missing.status_code == 403
    wrong = await owner_page.http.post("/account/tokens", data={**data, "csrf_token": "0" * 64})
    assert wrong.status_code == 403
    foreign = await owner_page.http.post(
        "/account/tokens", data={**data, "csrf_token": owner_page.csrf}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    ours = await owner_page.http.post(
        "/account/tokens", data={**data, "csrf_token": owner_page.csrf}, headers={"Origin": "http://devplane.test"}
    )
    assert ours.status_code == 201
    header = await owner_page.http.post("/account/tokens", data=data, headers={"X-CSRF-Token": owner_page.csrf})
    assert header.status_code == 201


async def test_signed_out_form_posts_check_origin(owner: Client, app_transport: httpx.ASGITransport) -> None:
    async with httpx.AsyncClient(transport=app_transport, base_url="http://devplane.test") as http:
        response = await http.post(
            "/login", data={"email": "x@example.com", "password": "y"}, headers={"Origin": "https://evil.example"}
        )
        assert response.status_code == 403


async def test_cookie_authenticated_api_writes_need_the_token(
    owner_page: Browser, owner: Client, settings: Settings
) -> None:
    body = {"name": "from-a-page", "lifetime_seconds": 3600}
    refused = await owner_page.http.post("/api/v2/users/me/keys", json=body)
    assert refused.status_code == 403
    assert refused.json()["message"] == "CSRF check failed."
    foreign = await owner_page.http.post(
        "/api/v2/users/me/keys", json=body, headers={"X-CSRF-Token": owner_page.csrf, "Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    allowed = await owner_page.http.post("/api/v2/users/me/keys", json=body, headers={"X-CSRF-Token": owner_page.csrf})
    assert allowed.status_code == 201
    # Reads stay open to the cookie, and bearer callers (the CLI, the SDK) are exempt.
    assert (await owner_page.http.get("/api/v2/users/me")).status_code == 200
    assert owner.token
    bearer = await owner_page.http.post(
        "/api/v2/users/me/keys", json=body, headers={"Authorization": f"Bearer {owner.token}"}
    )
    assert bearer.status_code == 201


def test_templates_have_no_inline_script_style_or_handlers() -> None:
    for path in sorted(templating.TEMPLATES.glob("*.html")):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"{path.name}: inline <script>"
        assert "<style" not in text, f"{path.name}: <style>"
        assert not re.search(r"\sstyle\s*=", text), f"{path.name}: style attribute"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path.name}: on* handler"
        assert "hx-on" not in text, f"{path.name}: hx-on"
        assert "js:" not in text, f"{path.name}: js: value"


async def test_htmx_is_configured_without_eval_or_script_tags(owner_page: Browser) -> None:
    html = (await owner_page.get("/account/tokens")).text
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', html)
    assert config is not None
    import json

    values = json.loads(config.group(1))
    assert values["allowEval"] is False
    assert values["allowScriptTags"] is False
    assert values["includeIndicatorStyles"] is False
    assert values["historyCacheSize"] == 0
    assert values["selfRequestsOnly"] is True
    assert f'hx-headers=\'{{"X-CSRF-Token": "{owner_page.csrf}"}}\'' in html


async def test_api_docs_use_local_swagger_only(app_transport: httpx.ASGITransport) -> None:
    async with httpx.AsyncClient(transport=app_transport, base_url="http://devplane.test") as http:
        page = await http.get("/api/v2/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "https://" not in page.text
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert srcs
    assert all(s.startswith("/static/v/") or s == "data:," for s in srcs), srcs


@pytest.mark.parametrize(
    ("origin", "fetch_site", "allowed"),
    [
        ("http://devplane.test", None, True),
        ("http://devplane.test", "same-origin", True),
        ("http://devplane.test", "cross-site", False),
        ("null", "same-origin", True),  # no-referrer makes browsers send Origin: null on our own posts
        ("null", None, False),
        ("null", "cross-site", False),
        ("https://evil.example", "same-origin", False),
        (None, None, True),  # not a browser: the CSRF token alone decides
        (None, "same-site", False),
    ],
)
def test_origin_rules(origin: str | None, fetch_site: str | None, allowed: bool) -> None:
    from devplane.web.security import origin_allowed

    assert origin_allowed(origin, "http://devplane.test", "devplane.test", fetch_site) is allowed
