"""URL rules of the OAuth2 provider: RFC 8707 resource canonicalisation and redirect URIs.

Clients send the gateway's URL in many shapes (trailing slash, upper-case host, `:443`,
`?servers=...`, none at all): all of them name the same resource, so they are canonicalised
before comparing. Redirect URIs match exactly, except the port of loopback URIs (RFC 8252 §7.3).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
FORBIDDEN_SCHEMES = {"javascript", "data", "file", "vbscript", "about", "blob"}


def canonical_resource(value: str) -> str | None:
    """scheme://host[:port]/path, lower-case scheme and host, no default port, query, fragment
    or trailing slash; None when `value` is not an absolute http(s) URL."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be registered as a redirect URI, or None when it can."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URI"
    scheme = parts.scheme.lower()
    if not scheme:
        return "must be an absolute URI"
    if scheme in FORBIDDEN_SCHEMES:
        return f"may not use the {scheme}: scheme"
    if parts.fragment or uri.endswith("#"):
        return "may not contain a fragment"
    if scheme in ("http", "https"):
        if not parts.hostname:
            return "must name a host"
        if scheme == "http" and parts.hostname.lower() not in LOOPBACK_HOSTS:
            return "must use https (http is allowed for loopback addresses only)"
        return None
    # Private-use schemes (RFC 8252 §7.1), e.g. cursor://..., vscode://...: a reverse-domain or
    # vendor scheme; we only require it to be a scheme name, not a browser-executable one.
    if not all(c.isalnum() or c in "+-." for c in scheme):
        return "has an invalid scheme"
    return None


def _is_loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme.lower() == "http" and (parts.hostname or "").lower() in LOOPBACK_HOSTS


def _without_port(uri: str) -> tuple[str, str, str, str]:
    parts = urlsplit(uri)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.path, parts.query


def redirect_uri_matches(requested: str, registered: str) -> bool:
    """Exact match, except that a loopback http URI may use any port (native apps pick one)."""
    if requested == registered:
        return True
    if _is_loopback(requested) and _is_loopback(registered):
        try:
            return _without_port(requested) == _without_port(registered)
        except ValueError:
            return False
    return False
