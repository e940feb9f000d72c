"""A real devplane server on 127.0.0.1 for tests: uvicorn in a thread with its own event loop.

The app's lifespan builds the server state inside that loop (engines are bound to the loop that
made them). Server logs go to a buffer, so they never interleave with a CLI command's output.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import structlog
import uvicorn

from devplane.api.app import create_app
from devplane.api.http_protocol import CoalescingHttpToolsProtocol
from devplane.api.serving import uvicorn_config
from devplane.config import Settings


@dataclass
class LiveServer:
    url: str
    logs: io.StringIO
    server: uvicorn.Server

    @property
    def gateway(self) -> str:
        return f"{self.url}/api/experimental/mcp/gateway"


@contextmanager
def live_server(
    settings: Settings,
    *,
    http: str | type[asyncio.Protocol] = CoalescingHttpToolsProtocol,  # what `devplane server` runs
    require_clean_shutdown: bool = False,
    port: int = 0,  # a fixed port, for tests whose access URL must name it (the OAuth2 issuer)
) -> Iterator[LiveServer]:
    logs = io.StringIO()
    previous = structlog.get_config()["logger_factory"]
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(logs))
    server = uvicorn.Server(uvicorn_config(create_app(settings), host="127.0.0.1", port=port, http=http))
    thread = threading.Thread(target=server.run, name="devplane-test-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail(f"devplane test server did not start; logs:\n{logs.getvalue()}")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield LiveServer(url=f"http://127.0.0.1:{port}", logs=logs, server=server)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        structlog.configure(logger_factory=previous)
    if require_clean_shutdown:
        assert not thread.is_alive(), "test server did not shut down"
