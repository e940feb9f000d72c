"""Validation of an authorization request (RFC 6749 §4.1.1 + PKCE + RFC 8707), before any page.

Errors before the client and redirect URI are known must not redirect (the URI might be an
attacker's): they raise OAuth2Error and the caller shows a local page. Errors after that raise
AuthorizeRedirect: the client learns of them at its own redirect URI, with `state` and `iss`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from devplane.db.oauth2_rows import OAuth2ProviderAppRow
from devplane.db.store import Store
from devplane.services.oauth2_common import OAuth2Error, ProviderConfig, check_resource, check_scope, load_app
from devplane.services.oauth2_urls import redirect_uri_matches

CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


@dataclass(frozen=True)
class AuthorizeRequest:
    app: OAuth2ProviderAppRow
    redirect_uri: str
    state: str | None
    code_challenge: str
    scope: str
    resource: str


class AuthorizeRedirect(Exception):
    def __init__(self, redirect_uri: str, error: str, description: str, state: str | None) -> None:
        super().__init__(description)
        self.redirect_uri, self.error, self.description, self.state = redirect_uri, error, description, state


def redirect_to(redirect_uri: str, params: dict[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    fragmentless = redirect_uri.split("#", 1)[0]
    return f"{fragmentless}{'&' if urlsplit(fragmentless).query else '?'}{query}"


async def validate(store: Store, config: ProviderConfig, params: Mapping[str, str]) -> AuthorizeRequest:
    app = await load_app(store, params.get("client_id", ""))
    if app is None:
        raise OAuth2Error("invalid_client", "Unknown client_id: the application is not registered here.")
    requested = params.get("redirect_uri")
    if requested is None:
        if len(app.redirect_uris) != 1:
            raise OAuth2Error("invalid_request", "redirect_uri is required: the application registered several.")
        redirect_uri = app.redirect_uris[0]
    elif any(redirect_uri_matches(requested, r) for r in app.redirect_uris):
        redirect_uri = requested
    else:
        raise OAuth2Error("invalid_request", "redirect_uri is not one the application registered.")
    state = params.get("state")

    def fail(error: str, description: str) -> AuthorizeRedirect:
        return AuthorizeRedirect(redirect_uri, error, description, state)

    if params.get("response_type") != "code":
        raise fail("unsupported_response_type", "Only response_type=code is supported.")
    challenge = params.get("code_challenge", "")
    if not challenge:
        raise fail("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256.")
    if params.get("code_challenge_method", "plain") != "S256":
        raise fail("invalid_request", "code_challenge_method must be S256.")
    if not CHALLENGE.match(challenge):
        raise fail("invalid_request", "code_challenge must be 43 to 128 base64url characters.")
    try:
        scope = check_scope(params.get("scope"))
        resource = check_resource(config, params.get("resource"))
    except OAuth2Error as exc:
        raise fail(exc.error, exc.description) from None
    return AuthorizeRequest(app, redirect_uri, state, challenge, scope, resource)
