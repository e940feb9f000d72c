"""Jinja2 rendering: autoescaped templates, the asset URL helper, and the page headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from devplane.web import assets
from devplane.web.session import Viewer

TEMPLATES = Path(__file__).parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals["asset"] = assets.url


def _host(url: str) -> str:
    return urlsplit(url).netloc


env.filters["urlhost"] = _host


def render(
    request: Request,
    template: str,
    viewer: Viewer | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = env.get_template(template).render(
        request_path=request.url.path,
        viewer=viewer,
        csrf=viewer.csrf if viewer is not None else "",
        **context,
    )
    # The CSP and its companions come from web.security's middleware, for every HTML answer.
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})
