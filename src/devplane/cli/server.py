"""`devplane server`: every Settings field is a flag and an env var.

The API and database stack are imported when the server starts, not when the module loads:
client commands (`devplane whoami`) should not pay for importing the server.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from devplane.cli.settings import flag_help, load_settings
from devplane.config import Settings


def server(**flags: object) -> None:
    """Run the devplane server: migrate the database, check the encryption keys, serve HTTP.

    With no configuration it uses SQLite in a per-user data directory and makes its own
    encryption key there. Stop it with Ctrl-C or SIGTERM; in-flight requests finish first.
    """
    settings = load_settings(**flags)
    from devplane import logging as dlog
    from devplane.services.keys import StartupError

    dlog.configure(settings.log_level, final=True)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(settings))
    except StartupError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:  # e.g. a data dir we may not write to
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (it is a dependency; not on Windows), else asyncio's default loop.

    Perf: with uvicorn's httptools parser it roughly halves the MCP gateway's CPU per call
    (docs/benchmarks.md). uvicorn's own `loop="auto"` does not apply here: we own the loop.
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _flag(name: str) -> inspect.Parameter:
    """One `--flag` per Settings field, typed for typer; lists are given as comma strings."""
    annotation = Settings.model_fields[name].annotation
    flag_type = annotation if annotation in (bool, int, float, Path) else str
    option = typer.Option(help=flag_help(name), show_default=False)
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[flag_type | None, option]
    )


# The flags are generated from Settings, so a new setting is a flag the moment it exists.
# typer reads the signature and annotations; mypy cannot see that attributes are set on a function.
_params = [_flag(name) for name in Settings.model_fields]
server.__signature__ = inspect.Signature(_params, return_annotation=None)  # type: ignore[attr-defined]
server.__annotations__ = {p.name: p.annotation for p in _params} | {"return": None}


async def _serve(settings: Settings) -> None:
    import uvicorn

    from devplane.api.app import create_app, start, stop
    from devplane.api.serving import uvicorn_config

    state = await start(settings)
    app = create_app(settings, state)
    srv = uvicorn.Server(uvicorn_config(app, host=settings.host, port=settings.port))
    url = settings.effective_access_url
    typer.echo(f"devplane is listening on http://{settings.http_address} (access URL {url})", err=True)
    typer.echo(f"Database: {'SQLite in ' + str(settings.data_dir) if settings.uses_sqlite else 'PostgreSQL'}", err=True)
    typer.echo(f"API docs: {url}/api/v2/docs", err=True)
    typer.echo(f"Web UI: {url}/ (a new deployment opens the first-user set-up page)", err=True)  # issue 11
    typer.echo(f"Create the first user and log in:  devplane login {url}", err=True)
    typer.echo(
        f"  (or: curl -X POST {url}/api/v2/users/first -H 'Content-Type: application/json' "
        '-d \'{"email":"you@example.com","username":"you","password":"<a strong password>"}\')',
        err=True,
    )
    try:
        await srv.serve()  # uvicorn handles SIGTERM/SIGINT: stops accepting, drains, runs lifespan exit
    finally:
        await stop(state)
