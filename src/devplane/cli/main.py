"""The `devplane` command."""

from __future__ import annotations

import typer

from devplane.cli import dbcrypt, keys, server

app = typer.Typer(
    name="devplane",
    help="Self-hosted control plane for development workspaces and the AI agents that work in them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # tracebacks can contain secrets; errors are printed as messages
)
app.command("server", help="Run the devplane server.")(server.server)
app.add_typer(keys.app, name="keys")
app.add_typer(dbcrypt.app, name="dbcrypt")
