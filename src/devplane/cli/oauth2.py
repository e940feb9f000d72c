"""`devplane oauth2 ...`: the OAuth2 provider for MCP clients (dynamic registration, apps, secrets,
and the apps you authorized)."""

from __future__ import annotations

from typing import Annotated

import typer

from devplane.cli import output, runner
from devplane.cli.output import Output, OutputFormat
from devplane.sdk.client import Client
from devplane.sdk.oauth2 import CreateOAuth2AppRequest, UpdateOAuth2ProviderSettingsRequest

app = typer.Typer(
    help="Manage devplane's OAuth2 provider, through which MCP clients sign in to the MCP gateway.",
    no_args_is_help=True,
)
dcr = typer.Typer(help="Dynamic client registration (RFC 7591): MCP clients registering themselves.")
apps = typer.Typer(
    help="OAuth2 apps (clients) registered by owners or by the clients themselves.", no_args_is_help=True
)
secrets = typer.Typer(help="Client secrets of an OAuth2 app (shown once at creation).", no_args_is_help=True)
app.add_typer(dcr, name="dcr")
app.add_typer(apps, name="apps")
app.add_typer(secrets, name="secrets")

APP_COLUMNS: list[output.Column] = [
    ("CLIENT ID", lambda a: a.id),
    ("NAME", lambda a: a.name),
    ("AUTH METHOD", lambda a: a.token_endpoint_auth_method),
    ("SELF-REGISTERED", lambda a: "yes" if a.dynamically_registered else "no"),
    ("REDIRECT URIS", lambda a: " ".join(a.redirect_uris)),
]
SECRET_COLUMNS: list[output.Column] = [
    ("ID", lambda s: s.id),
    ("PREFIX", lambda s: s.secret_prefix),
    ("CREATED", lambda s: s.created_at),
]
GRANT_COLUMNS: list[output.Column] = [
    ("CLIENT ID", lambda g: g.app_id),
    ("NAME", lambda g: g.name),
    ("SCOPES", lambda g: " ".join(g.scopes)),
    ("LAST AUTHORIZED", lambda g: g.last_authorized_at),
]
AppId = Annotated[str, typer.Argument(metavar="CLIENT_ID", help="The app's client id.", show_default=False)]


def _set_dcr(enabled: bool, fmt: OutputFormat) -> None:
    async def action(client: Client) -> bool:
        req = UpdateOAuth2ProviderSettingsRequest(dynamic_client_registration=enabled)
        return (await client.put_oauth2_provider_settings(req)).dynamic_client_registration

    state = runner.call(action)
    output.message(
        fmt, f"Dynamic client registration is {'on' if state else 'off'}.", dynamic_client_registration=state
    )


@dcr.command("enable")
def dcr_enable(fmt: Output = OutputFormat.TABLE) -> None:
    """Let MCP clients register themselves (owners). Needed by most MCP clients."""
    _set_dcr(True, fmt)


@dcr.command("disable")
def dcr_disable(fmt: Output = OutputFormat.TABLE) -> None:
    """Stop self-registration (owners); registered clients keep working."""
    _set_dcr(False, fmt)


@apps.command("list")
def apps_list(fmt: Output = OutputFormat.TABLE) -> None:
    """List OAuth2 apps (owners, auditors)."""
    output.emit(fmt, runner.call(lambda client: client.oauth2_apps()), APP_COLUMNS)


@apps.command("create")
def apps_create(
    name: Annotated[str, typer.Option(help="Shown on the consent page.", show_default=False)],
    redirect_uri: Annotated[
        list[str], typer.Option(help="An exact redirect URI (repeat for several).", show_default=False)
    ],
    public: Annotated[bool, typer.Option(help="A public client: no secret, PKCE only.")] = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Pre-register an OAuth2 app (owners). Create a secret for it with `oauth2 secrets create`."""
    method = "none" if public else "client_secret_basic"
    req = CreateOAuth2AppRequest(name=name, redirect_uris=redirect_uri, token_endpoint_auth_method=method)
    output.emit(fmt, runner.call(lambda client: client.create_oauth2_app(req)), APP_COLUMNS)


@apps.command("delete")
def apps_delete(app_id: AppId, fmt: Output = OutputFormat.TABLE) -> None:
    """Delete an OAuth2 app and revoke every token issued to it (owners)."""

    async def action(client: Client) -> None:
        await client.delete_oauth2_app(app_id)

    runner.call(action)
    output.message(fmt, f"Deleted OAuth2 app {app_id}.", id=app_id)


@secrets.command("create")
def secrets_create(app_id: AppId, fmt: Output = OutputFormat.TABLE) -> None:
    """Create a client secret (owners). It is printed once; only a hash is kept."""
    created = runner.call(lambda client: client.create_oauth2_app_secret(app_id))
    if fmt is OutputFormat.JSON:
        output.emit(fmt, created, [])
        return
    typer.echo(created.client_secret)
    output.note("This secret is shown once.")


@secrets.command("list")
def secrets_list(app_id: AppId, fmt: Output = OutputFormat.TABLE) -> None:
    """List an app's client secrets (prefixes only)."""
    output.emit(fmt, runner.call(lambda client: client.oauth2_app_secrets(app_id)), SECRET_COLUMNS)


@secrets.command("delete")
def secrets_delete(
    app_id: AppId,
    secret_id: Annotated[str, typer.Argument(metavar="SECRET_ID", help="From `oauth2 secrets list`.")],
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Delete a client secret (owners)."""

    async def action(client: Client) -> None:
        await client.delete_oauth2_app_secret(app_id, secret_id)

    runner.call(action)
    output.message(fmt, f"Deleted client secret {secret_id}.", id=secret_id)


@app.command("authorized")
def authorized(fmt: Output = OutputFormat.TABLE) -> None:
    """List the OAuth2 apps you authorized."""
    output.emit(fmt, runner.call(lambda client: client.my_oauth2_apps()), GRANT_COLUMNS)


@app.command("revoke")
def revoke(app_id: AppId, fmt: Output = OutputFormat.TABLE) -> None:
    """Revoke an app you authorized: all its tokens stop working."""

    async def action(client: Client) -> None:
        await client.revoke_my_oauth2_app(app_id)

    runner.call(action)
    output.message(fmt, f"Revoked OAuth2 app {app_id}.", id=app_id)
