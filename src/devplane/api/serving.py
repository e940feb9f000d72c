"""How devplane runs under uvicorn: one place for `devplane server` and the tests' live server."""

from __future__ import annotations

import asyncio

import uvicorn
from starlette.types import ASGIApp

from devplane.api.http_protocol import CoalescingHttpToolsProtocol


def uvicorn_config(
    app: ASGIApp, *, host: str, port: int, http: str | type[asyncio.Protocol] = CoalescingHttpToolsProtocol
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=http,  # httptools, one send per response (api/http_protocol.py)
        ws="none",  # no WebSocket routes: no WebSocket upgrade handling either
        lifespan="on",
        # uvicorn would otherwise rewrite the client address from X-Forwarded-For for any
        # connection from 127.0.0.1, whatever DEVPLANE_TRUSTED_PROXIES says; devplane decides
        # that itself (api/deps.py client_ip), so only the setting counts.
        proxy_headers=False,
        server_header=False,
        log_config=None,  # devplane configures logging (logging.py)
        access_log=False,  # its own access log drops query strings (OAuth codes ride there)
    )
