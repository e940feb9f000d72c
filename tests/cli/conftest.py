"""CLI tests drive `devplane` end to end against a real uvicorn server on 127.0.0.1.

The server runs in a background thread with its own event loop; the app's lifespan builds
the server state inside that loop (engines are bound to the loop that made them). Each CLI
invocation runs `asyncio.run` on the test thread, exactly as a user's shell would.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import structlog
import uvicorn
from typer.testing import CliRunner, Result

from devplane.api.app import create_app
from devplane.cli.main import app
from devplane.config import Settings
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    """Server-side commands configure structlog for the process; put it back for the next test."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@dataclass
class LiveServer:
    url: str
    logs: io.StringIO


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    logs = io.StringIO()
    # Server logs go to a buffer: CliRunner swaps sys.stdout while a command runs, and a log
    # line printed by the server thread at that moment would land in the command's output.
    previous = structlog.get_config()["logger_factory"]
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(logs))
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        lifespan="on",
        http="h11",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="devplane-cli-test-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail(f"test server did not start; logs:\n{logs.getvalue()}")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield LiveServer(url=f"http://127.0.0.1:{port}", logs=logs)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        structlog.configure(logger_factory=previous)
    assert not thread.is_alive(), "test server did not shut down"


@dataclass
class Cli:
    """Runs `devplane` with HOME and XDG_CONFIG_HOME in a temporary directory."""

    home: Path
    env: dict[str, str | None] = field(default_factory=dict)

    @property
    def session_file(self) -> Path:
        return self.home / "config" / "devplane" / "session.json"

    def run(self, *args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(app, list(args), input=input, env={**self.env, **(env or {})})

    def ok(self, *args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> Result:
        """Run and insist on exit code 0, showing everything the command printed when it is not."""
        result = self.run(*args, input=input, env=env)
        assert result.exit_code == 0, (
            f"devplane {' '.join(args)} -> {result.exit_code}\n{result.output}\n{result.exception!r}"
        )
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(
        home=home,
        env={
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "DEVPLANE_URL": None,
            "DEVPLANE_TOKEN": None,
            "COLUMNS": "200",
            "NO_COLOR": "1",
        },
    )


@pytest.fixture
def logged_in(cli: Cli, live_server: LiveServer) -> Cli:
    """A CLI logged in as the first user (an owner), created through `devplane login`."""
    cli.ok(
        "login",
        live_server.url,
        "--email",
        OWNER_EMAIL,
        "--username",
        OWNER_USERNAME,
        "--password-stdin",
        input=OWNER_PASSWORD + "\n",
    )
    return cli
