"""The provider calls of the OAuth2 client: code exchange, refresh (RFC 6749) and revocation
(RFC 7009). Errors carry our own short reason and the provider's `error` code, never its body,
so nothing a provider says can reach a page, a log line or an API response verbatim.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import httpx

from devplane.services.mcp_oauth_protocol import (
    ClientAuth,
    TokenResponseError,
    TokenSet,
    client_auth,
    error_code,
    parse_body,
    parse_token_set,
    revocation_url_allowed,
)

TIMEOUT_SECONDS = 10.0
# Refresh errors that no retry can fix: the user has to connect again (coder's IsPermanentRefreshError).
PERMANENT_REFRESH_ERRORS = frozenset({"invalid_grant", "bad_refresh_token"})


class TokenEndpointError(Exception):
    """A token request failed. `reason` is ours; `code` is the provider's RFC 6749 error code."""

    def __init__(self, reason: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.code = code

    @property
    def permanent(self) -> bool:
        return self.code in PERMANENT_REFRESH_ERRORS


class RevocationFailed(Exception):
    """Revocation did not succeed; disconnect still deletes the token locally."""


def _client() -> httpx.AsyncClient:
    # No redirects: a token endpoint that redirects would make us re-send the code and the
    # client secret to wherever it points.
    return httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)


async def _post(url: str, form: dict[str, str], auth: ClientAuth) -> httpx.Response:
    headers = {"Accept": "application/json", **auth.headers}
    async with _client() as http:
        return await http.post(url, data={**form, **auth.body}, headers=headers)


async def _token_request(token_url: str, form: dict[str, str], auth: ClientAuth) -> TokenSet:
    try:
        response = await _post(token_url, form, auth)
    except httpx.HTTPError as exc:
        raise TokenEndpointError(f"token request failed ({type(exc).__name__})") from None
    content_type = response.headers.get("content-type", "")
    if not response.is_success:
        code = ""
        with contextlib.suppress(TokenResponseError):  # a non-JSON error body: the status is all we report
            code = error_code(parse_body(response.content, content_type))
        raise TokenEndpointError(
            f"token endpoint answered {response.status_code}", status=response.status_code, code=code
        )
    try:
        return parse_token_set(parse_body(response.content, content_type), dt.datetime.now(dt.UTC))
    except TokenResponseError as exc:
        raise TokenEndpointError(f"unusable token response: {exc}", status=response.status_code) from None


async def exchange_code(
    *,
    token_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    resource: str,
) -> TokenSet:
    """authorization_code grant with the PKCE verifier and the RFC 8707 resource."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
        "resource": resource,
    }
    return await _token_request(token_url, form, client_auth(client_id, client_secret))


async def refresh(*, token_url: str, client_id: str, client_secret: str, refresh_token: str, resource: str) -> TokenSet:
    """refresh_token grant; the caller keeps the old refresh token when none comes back."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "resource": resource}
    return await _token_request(token_url, form, client_auth(client_id, client_secret))


async def revoke(*, url: str, client_id: str, client_secret: str, token: str, token_type_hint: str) -> None:
    """RFC 7009 revocation. Raises RevocationFailed with our own reason."""
    if not revocation_url_allowed(url):
        raise RevocationFailed("revocation URL must be https, or http on a loopback address")
    form = {"token": token, "token_type_hint": token_type_hint}
    try:
        response = await _post(url, form, client_auth(client_id, client_secret))
    except httpx.HTTPError as exc:
        raise RevocationFailed(f"revocation request failed ({type(exc).__name__})") from None
    if response.status_code not in (200, 204):
        raise RevocationFailed(f"revocation endpoint answered {response.status_code}")
