"""The `devplane` command."""

from __future__ import annotations

from typing import Annotated

import typer

from devplane import __version__
from devplane.cli import audit, auth, chat, chats, dbcrypt, keys, mcp, server, tokens, users
from devplane.cli import oauth2 as oauth2_cli  # OAuth2 provider (issue 12)

app = typer.Typer(
    name="devplane",
    help="Self-hosted control plane for development workspaces and the AI agents that work in them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # tracebacks can contain secrets; errors are printed as messages
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"devplane {__version__}")
        raise typer.Exit


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Self-hosted control plane for development workspaces and the AI agents that work in them.

    Client commands talk to the server at the URL saved by `devplane login`, or at
    DEVPLANE_URL with DEVPLANE_TOKEN when those are set.
    """


app.command("server")(server.server)
app.command("login")(auth.login)
app.command("logout")(auth.logout)
app.command("whoami")(auth.whoami)
app.add_typer(users.app, name="users")
app.add_typer(tokens.app, name="tokens")
app.command("audit")(audit.audit)
app.add_typer(mcp.app, name="mcp")
app.add_typer(chats.app, name="chats")
app.command("chat")(chat.chat)  # chat loop (issue 10)
app.add_typer(keys.app, name="keys")
app.add_typer(dbcrypt.app, name="dbcrypt")
# OAuth2 provider (issue 12)
app.add_typer(oauth2_cli.app, name="oauth2")
