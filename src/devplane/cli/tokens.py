"""`devplane tokens create|list|remove`: API keys for scripts and CI."""

from __future__ import annotations

from typing import Annotated

import typer

from devplane.cli import output, runner
from devplane.cli.durations import format_duration, parse_duration
from devplane.cli.output import Output, OutputFormat
from devplane.sdk.client import Client
from devplane.sdk.users import CreateAPIKeyRequest, CreateAPIKeyResponse

app = typer.Typer(
    help="Manage API keys (long-lived tokens for scripts; use them as DEVPLANE_TOKEN).", no_args_is_help=True
)

COLUMNS: list[output.Column] = [
    ("ID", lambda k: k.id),
    ("NAME", lambda k: k.name or "-"),
    ("CREATED", lambda k: k.created_at),
    ("LAST USED", lambda k: k.last_used_at),
    ("EXPIRES", lambda k: k.expires_at),
    ("LIFETIME", lambda k: format_duration(k.lifetime_seconds)),
]

ForUser = Annotated[
    str, typer.Option("--user", help="Whose keys: a user id, a username, or `me` (others need admin rights).")
]


@app.command("create")
def create(
    lifetime: Annotated[
        str | None,
        typer.Option(help="How long the key lives, e.g. 30d, 12h, 90m (server default 30d, max per deployment)."),
    ] = None,
    name: Annotated[str, typer.Option(help="A label to recognise the key by in `tokens list`.")] = "",
    user: ForUser = "me",
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Create an API key. The key is printed once; only a hash is kept on the server."""
    try:
        seconds = parse_duration(lifetime) if lifetime else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lifetime") from None

    async def action(client: Client) -> str:
        return await client.create_api_key(user, CreateAPIKeyRequest(lifetime_seconds=seconds, name=name))

    key = runner.call(action)
    if fmt is OutputFormat.JSON:
        output.emit(fmt, CreateAPIKeyResponse(key=key), [])
        return
    typer.echo(key)  # bare on stdout, so `$(devplane tokens create)` captures exactly the key
    output.note("This key is shown once. Use it as DEVPLANE_TOKEN or in a `Devplane-Session-Token` header.")


@app.command("list")
def list_tokens(user: ForUser = "me", fmt: Output = OutputFormat.TABLE) -> None:
    """List API keys: ids, names and dates, never the secrets."""
    output.emit(fmt, runner.call(lambda client: client.api_keys(user)), COLUMNS)


@app.command("remove")
def remove(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id, from `tokens list`.", show_default=False)],
    user: ForUser = "me",
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Revoke an API key; anything using it gets 401 from then on."""

    async def action(client: Client) -> None:
        await client.delete_api_key(user, key_id)

    runner.call(action)
    output.message(fmt, f"Removed API key {key_id}.", id=key_id)
