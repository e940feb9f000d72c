"""The small HTML pages the MCP OAuth2 callback answers with, in the user's popup or tab.

Every value is HTML-escaped, and the one script (success page) carries its data as JSON with
`<`, `>` and `&` escaped, allowed by a CSP hash rather than 'unsafe-inline'.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from html import escape

from fastapi.responses import HTMLResponse

from devplane.errors import DomainError

COMPLETE_MESSAGE_TYPE = "mcp-oauth2-complete"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
_MAX_DETAIL = 500


def _js(value: object) -> str:
    """JSON that cannot close the script element or start an HTML comment."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(status: int, title: str, body: str, script: str | None = None) -> HTMLResponse:
    csp = _CSP
    script_tag = ""
    if script is not None:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
        csp += f"; script-src 'sha256-{digest}'"
        script_tag = f"<script>{script}</script>"
    html = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        f"<body><h1>{escape(title)}</h1>{body}{script_tag}</body></html>\n"
    )
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, "Content-Security-Policy": csp})


def success_page(server_id: uuid.UUID, display_name: str, access_origin: str) -> HTMLResponse:
    """Tells the opener (devplane's UI, at the access URL's origin only) and closes; without an
    opener the text stays and says the window may be closed."""
    message = {"type": COMPLETE_MESSAGE_TYPE, "serverID": str(server_id)}
    script = (
        "(function () {"
        f" var message = {_js(message)};"
        " if (window.opener) {"
        f" window.opener.postMessage(message, {_js(access_origin)});"
        " window.close();"
        " }"
        " })();"
    )
    body = (
        f"<p>Your account is connected to {escape(display_name)}.</p>"
        "<p>Authentication successful. You may close this window.</p>"
    )
    return _page(200, "Connected", body, script)


def error_page(exc: DomainError) -> HTMLResponse:
    body = f"<p>{escape(exc.message)}</p>"
    if exc.detail:
        body += f"<p>{escape(exc.detail[:_MAX_DETAIL])}</p>"
    body += "<p>You may close this window and try connecting again.</p>"
    return _page(exc.status_code, "Could not connect", body)
