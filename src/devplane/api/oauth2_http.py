"""HTTP plumbing shared by the OAuth2 provider's endpoints: configuration, CORS, rate limits,
client credentials and RFC 6749 error bodies (not devplane's envelope: OAuth clients parse these)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from devplane.api.deps import State, client_ip
from devplane.api.state import AppState
from devplane.errors import NotFound
from devplane.sdk.errors import Response as Envelope
from devplane.sdk.oauth2 import OAuth2ErrorBody
from devplane.services.oauth2_common import ClientCredentials, OAuth2Error, ProviderConfig
from devplane.services.oauth2_urls import canonical_resource
from devplane.services.ratelimit import RateLimiter

GATEWAY_PATH = "/api/experimental/mcp/gateway"  # = api.app.GATEWAY_PATH (app imports the routes)
PRM_PATH = "/.well-known/oauth-protected-resource"
AS_METADATA_PATH = "/.well-known/oauth-authorization-server"
# Browser clients (MCP Inspector) call these cross-origin; no cookies are involved, so any origin.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "WWW-Authenticate, Mcp-Session-Id",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Headers": (
        "Authorization, Content-Type, MCP-Protocol-Version, Mcp-Session-Id, Mcp-Method, Mcp-Name, Last-Event-ID"
    ),
    "Access-Control-Max-Age": "600",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def provider_config(state: AppState) -> ProviderConfig:
    issuer = state.settings.effective_access_url
    resource = canonical_resource(issuer + GATEWAY_PATH)
    assert resource is not None  # the access URL is validated as an absolute http(s) URL
    return ProviderConfig(issuer=issuer, resource=resource)


def resource_metadata_url(state: AppState) -> str:
    return state.settings.effective_access_url + PRM_PATH + GATEWAY_PATH


def preflight(methods: str) -> Response:
    return Response(status_code=204, headers={**PREFLIGHT_HEADERS, "Access-Control-Allow-Methods": methods})


def oauth_json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**CORS_HEADERS, **NO_STORE, **(headers or {})})


def oauth_error(exc: OAuth2Error) -> JSONResponse:
    return oauth_json({"error": exc.error, "error_description": exc.description}, exc.status, exc.headers)


def limiter(state: AppState) -> RateLimiter:
    found: RateLimiter | None = state.extras.get("oauth2_limiter")
    if found is None:
        found = RateLimiter(state.settings.oauth2_rate_limit, 60)
        state.extras["oauth2_limiter"] = found
    return found


def rate_limit(request: Request, state: AppState, endpoint: str) -> None:
    """Per client address and endpoint; 429 with Retry-After as an OAuth error body."""
    key = f"{endpoint}:{client_ip(request, state)}"
    limit = limiter(state)
    wait = limit.retry_after(key)
    if wait:
        raise OAuth2Error("slow_down", "Too many requests; try again later.", 429, {"Retry-After": str(wait)})
    limit.hit(key)


def client_credentials(request: Request, form: dict[str, str]) -> ClientCredentials:
    """RFC 6749 §2.3.1: HTTP Basic (form-urlencoded id and secret) or client_id/client_secret in the body."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuth2Error("invalid_client", "Malformed Basic credentials.", 401) from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise OAuth2Error("invalid_client", "Malformed Basic credentials.", 401)
        return ClientCredentials(unquote(client_id), unquote(secret) or None, via_basic=True)
    client_id = form.get("client_id", "")
    if not client_id:
        raise OAuth2Error("invalid_client", "client_id is required.", 401)
    return ClientCredentials(client_id, form.get("client_secret") or None, via_basic=False)


async def read_form(request: Request) -> dict[str, str]:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise OAuth2Error("invalid_request", "The body must be application/x-www-form-urlencoded.")
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def require_provider(state: State) -> None:
    """The protocol endpoints exist only while DEVPLANE_OAUTH2_PROVIDER_ENABLE is on."""
    if not state.settings.oauth2_provider_enable:
        raise NotFound(
            "Route not found.", detail="The OAuth2 provider is switched off (DEVPLANE_OAUTH2_PROVIDER_ENABLE)."
        )


OFF: dict[int | str, dict[str, Any]] = {404: {"model": Envelope, "description": "The OAuth2 provider is switched off."}}
OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuth2ErrorBody, "description": "RFC 6749 error."},
    401: {"model": OAuth2ErrorBody, "description": "Client authentication failed (invalid_client)."},
    429: {"model": OAuth2ErrorBody, "description": "Rate limited; see Retry-After."},
    **OFF,
}


def add_preflight(router: Any, path: str, methods: str) -> None:
    """A plain Starlette route (not an API route): preflights are not API operations."""

    async def answer(request: Request) -> Response:
        return preflight(methods)

    router.add_route(path, answer, methods=["OPTIONS"], include_in_schema=False)


# For the HTML routes: FastAPI would document the 404 as text/html; it is the JSON envelope.
OFF_HTML: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "The OAuth2 provider is switched off.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Response"}}},
    }
}
