"""Pure pieces of the OAuth2 client side: state, PKCE, URLs, client auth, token parsing.

No I/O here, so every rule (RFC 6749, 7009, 7636, 8707) has a unit test in
tests/unit/test_mcp_oauth_protocol.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

# 32 random bytes = 256 bits, well over the 128 the issue asks for (never a UUID).
STATE_BYTES = 32
STATE_LIFETIME = dt.timedelta(minutes=10)
# RFC 7636 section 4.1: 43..128 characters; 64 random bytes encode to 86.
VERIFIER_BYTES = 64
CALLBACK_PATH = "/api/experimental/mcp/servers/{id}/oauth2/callback"
_LOOPBACK_NAMES = frozenset({"localhost"})


def new_state() -> str:
    return secrets.token_urlsafe(STATE_BYTES)


def hash_state(state: str) -> str:
    """What the database keeps: a leaked table does not reveal usable states."""
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def new_code_verifier() -> str:
    return secrets.token_urlsafe(VERIFIER_BYTES)


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def redirect_uri(access_url: str, config_id: uuid.UUID) -> str:
    """Built from the configured access URL only: a Host header never reaches this."""
    return access_url.rstrip("/") + CALLBACK_PATH.format(id=config_id)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def scope_param(scopes: str) -> str:
    """The admin's scopes, whitespace-normalised to the RFC 6749 space-separated form."""
    return " ".join(scopes.split())


def authorize_url(
    auth_url: str,
    *,
    client_id: str,
    redirect: str,
    scopes: str,
    state: str,
    challenge: str,
    resource: str,
) -> str:
    """The provider URL with our parameters; a query already in `auth_url` is kept."""
    ours: dict[str, str] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": resource,
    }
    scope = scope_param(scopes)
    if scope:
        ours["scope"] = scope
    parts = urlsplit(auth_url)
    # Drop colliding keys from the configured query so the provider never sees two `state`s.
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
    query = urlencode([*kept, *ours.items()], quote_via=quote)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@dataclass(frozen=True)
class ClientAuth:
    """client_secret_basic when there is a secret, else client_id in the body (public client)."""

    headers: dict[str, str] = field(repr=False)
    body: dict[str, str]


def client_auth(client_id: str, client_secret: str) -> ClientAuth:
    if client_secret:
        # RFC 6749 section 2.3.1: id and secret are form-encoded before Base64.
        raw = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
        return ClientAuth(headers={"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}, body={})
    return ClientAuth(headers={}, body={"client_id": client_id})


def revocation_url_allowed(url: str) -> bool:
    """https anywhere; plain http only to a loopback host (coder's rule)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme == "https":
        return bool(host)
    if parts.scheme != "http":
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_token_type(token_type: str) -> str:
    """Any casing of bearer (or nothing) becomes "Bearer"; other schemes are kept."""
    cleaned = token_type.strip()
    return "Bearer" if not cleaned or cleaned.lower() == "bearer" else cleaned


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_type: str
    expiry: dt.datetime | None


class TokenResponseError(ValueError):
    """The token endpoint's answer is not a usable token response (text is ours, never theirs)."""


def parse_body(content: bytes, content_type: str) -> Mapping[str, object]:
    """JSON, or form-encoded for the few providers that answer that way."""
    if "application/x-www-form-urlencoded" in content_type:
        try:
            return dict(parse_qsl(content.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise TokenResponseError("not UTF-8") from None
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise TokenResponseError("not JSON") from None
    if not isinstance(data, dict):
        raise TokenResponseError("not a JSON object")
    return data


def parse_token_set(data: Mapping[str, object], now: dt.datetime) -> TokenSet:
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise TokenResponseError("no access_token")
    refresh = data.get("refresh_token")
    token_type = data.get("token_type")
    return TokenSet(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) else "",
        token_type=normalize_token_type(token_type if isinstance(token_type, str) else ""),
        expiry=_expiry(data.get("expires_in"), now),
    )


def _expiry(expires_in: object, now: dt.datetime) -> dt.datetime | None:
    if isinstance(expires_in, bool):
        return None
    if isinstance(expires_in, int | float):
        seconds = float(expires_in)
    elif isinstance(expires_in, str):
        try:
            seconds = float(expires_in.strip())
        except ValueError:
            return None
    else:
        return None
    if seconds != seconds or seconds <= 0:  # NaN or nonsense: treat as "unknown", like absent
        return None
    return now + dt.timedelta(seconds=min(seconds, 10 * 365 * 86400))


def error_code(data: Mapping[str, object]) -> str:
    """The RFC 6749 `error` code, reduced to its safe alphabet (it may be logged and stored)."""
    code = data.get("error")
    if not isinstance(code, str):
        return ""
    return "".join(c for c in code if c.isascii() and (c.isalnum() or c in "_-."))[:64]
