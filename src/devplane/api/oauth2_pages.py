"""The OAuth2 provider's HTML: the consent page and the local error page.

No script and no style at all (CSP default-src 'none'); the page cannot be framed
(frame-ancestors 'none' + X-Frame-Options DENY) or cached. Every value is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse

from devplane.services.oauth2_authorize import AuthorizeRequest

_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _csp(form_target: str | None) -> str:
    # Browsers apply form-action to the redirect that answers the form POST too, so the
    # client's redirect URI (its origin, or its private-use scheme) must be allowed there.
    actions = "'self'"
    if form_target:
        parts = urlsplit(form_target)
        actions += f" {parts.scheme}://{parts.netloc}" if parts.netloc else f" {parts.scheme}:"
    return f"default-src 'none'; base-uri 'none'; form-action {actions}; frame-ancestors 'none'"


def _page(status: int, title: str, body: str, form_target: str | None = None) -> HTMLResponse:
    html = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>\n"
    )
    return HTMLResponse(html, status_code=status, headers={**_HEADERS, "Content-Security-Policy": _csp(form_target)})


def error_page(status: int, error: str, description: str) -> HTMLResponse:
    body = (
        f"<p>{escape(description)}</p><p><code>{escape(error)}</code></p>"
        "<p>The application that sent you here is misconfigured; you may close this window.</p>"
    )
    return _page(status, "Authorization failed", body)


def consent_page(req: AuthorizeRequest, *, username: str, email: str, action: str, csrf_token: str) -> HTMLResponse:
    target = urlsplit(req.redirect_uri)
    host = target.hostname or f"{target.scheme}:"
    name = escape(req.app.name)
    badge = (
        " <strong>(unverified: this application registered itself)</strong>" if req.app.dynamically_registered else ""
    )
    scopes = "".join(f"<li><code>{escape(s)}</code>: use your devplane MCP tools</li>" for s in req.scope.split())
    body = (
        f"<p><strong>{name}</strong>{badge} wants to use devplane's MCP gateway as "
        f"<strong>{escape(username)}</strong> ({escape(email)}).</p>"
        f"<p>After you allow it, you are sent to <strong>{escape(host)}</strong> "
        f"(<code>{escape(req.redirect_uri)}</code>).</p>"
        f"<p>Permissions:</p><ul>{scopes}</ul>"
        f"<p>Resource: <code>{escape(req.resource)}</code></p>"
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">'
        '<button type="submit" name="decision" value="allow">Allow</button> '
        '<button type="submit" name="decision" value="deny">Deny</button>'
        "</form>"
    )
    return _page(200, f"Authorize {req.app.name}?", body, form_target=req.redirect_uri)
