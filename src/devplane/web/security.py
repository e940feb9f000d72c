"""Browser-facing security: the CSP and companion headers on every HTML answer, and CSRF.

CSRF tokens are an HMAC of the session token (keyed by it): only a page that can read the
HttpOnly cookie's value through the server, i.e. one we rendered, knows it; there is no
server-side secret or table to share between replicas, and logging out changes it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devplane.services import auth

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
HTML_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), usb=(), payment=(), interest-cohort=()",
    "X-Frame-Options": "DENY",
}
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Cookie-free by design (nothing to forge): signing in and creating the first user.
_API_EXEMPT = frozenset({"/api/v2/users/login", "/api/v2/users/first"})


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"devplane-csrf-v1", hashlib.sha256).hexdigest()


def csrf_valid(session_token: str, presented: str) -> bool:
    return hmac.compare_digest(csrf_token(session_token).encode(), presented.encode())


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_allowed(origin: str | None, access_url: str, host: str | None, fetch_site: str | None = None) -> bool:
    """A browser's unsafe request must come from devplane's own pages.

    `Sec-Fetch-Site` (sent by every current browser, not settable by a page) must say
    same-origin when present. `Origin` must be the access URL's or the Host's origin; under our
    `Referrer-Policy: no-referrer` browsers send `Origin: null` on same-origin form posts (Fetch
    standard), which counts only with `Sec-Fetch-Site: same-origin`. No header at all is a
    non-browser client, which the CSRF token alone covers."""
    if fetch_site is not None and fetch_site.lower() not in ("same-origin", "none"):
        return False
    if origin is None:
        return True
    origin = origin.lower()
    if origin == "null":
        return fetch_site is not None and fetch_site.lower() == "same-origin"
    if origin == origin_of(access_url):
        return True
    return host is not None and origin in (f"http://{host}".lower(), f"https://{host}".lower())


def request_origin_allowed(headers: Mapping[str, str], access_url: str) -> bool:
    return origin_allowed(headers.get("origin"), access_url, headers.get("host"), headers.get("sec-fetch-site"))


def _cookie(headers: dict[bytes, bytes]) -> str | None:
    raw = headers.get(b"cookie", b"").decode("latin-1")
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name == auth.SESSION_COOKIE and value:
            return value
    return None


class BrowserSecurityMiddleware:
    """Adds the HTML headers to every text/html answer that did not set its own CSP, and makes a
    cookie-authenticated unsafe call to the JSON API carry the page's CSRF token and a matching
    Origin (bearer and session-header callers are exempt: a browser never adds those itself)."""

    def __init__(self, app: ASGIApp, access_url: str) -> None:
        self.app = app
        self.access_url = access_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if scope["method"] in UNSAFE and scope["path"].startswith("/api/") and scope["path"] not in _API_EXEMPT:
            problem = self._api_csrf_problem(headers)
            if problem:
                await _forbidden(send, problem)
                return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = list(message.get("headers", []))
                names = {k.lower() for k, _ in out}
                ctype = dict(out).get(b"content-type", b"")
                if ctype.startswith(b"text/html") and b"content-security-policy" not in names:
                    out += [(k.lower().encode(), v.encode()) for k, v in HTML_HEADERS.items()]
                    if b"cache-control" not in names:
                        out.append((b"cache-control", b"no-store"))
                message["headers"] = out
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _api_csrf_problem(self, headers: dict[bytes, bytes]) -> str | None:
        if headers.get(b"authorization", b"").lower().startswith(b"bearer ") or headers.get(
            auth.SESSION_HEADER.lower().encode()
        ):
            return None
        cookie = _cookie(headers)
        if cookie is None:
            return None
        text = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers.items()}
        if not request_origin_allowed(text, self.access_url):
            return "The request's Origin is not this site."
        presented = headers.get(CSRF_HEADER.lower().encode(), b"").decode("latin-1")
        if not presented or not csrf_valid(cookie, presented):
            return f"A cookie-authenticated request must send the page's {CSRF_HEADER} header."
        return None


async def _forbidden(send: Send, message: str) -> None:
    raw = json.dumps({"message": "CSRF check failed.", "detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": raw})
