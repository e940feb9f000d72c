"""CLI tests drive `devplane` end to end against a real uvicorn server on 127.0.0.1.

The server runs in a background thread with its own event loop; the app's lifespan builds
the server state inside that loop (engines are bound to the loop that made them). Each CLI
invocation runs `asyncio.run` on the test thread, exactly as a user's shell would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner, Result

from devplane.cli.main import app
from devplane.config import Settings
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME
from tests.live import LiveServer
from tests.live import live_server as serve


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    """Server-side commands configure structlog for the process; put it back for the next test."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    # h11: the CLI tests exercise the plain HTTP path users hit without extras.
    with serve(settings, http="h11", require_clean_shutdown=True) as server:
        yield server


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
