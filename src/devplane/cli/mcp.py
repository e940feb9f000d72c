"""`devplane mcp`: servers (admin), your OAuth2 connections, and the MCP gateway URL."""

from __future__ import annotations

import json
import uuid
import webbrowser
from typing import Annotated, Any
from urllib.parse import urlencode

import typer

from devplane.cli import mcp_servers, output, runner
from devplane.cli.mcp_servers import ServerRef
from devplane.cli.output import Output, OutputFormat
from devplane.sdk.client import MCP, Client
from devplane.sdk.mcp import AuthType, MCPServerConfig

app = typer.Typer(help="MCP servers, your connections to them, and the MCP gateway.", no_args_is_help=True)
app.add_typer(mcp_servers.app, name="servers")

GATEWAY_PATH = f"{MCP}/gateway"
TOKEN_PLACEHOLDER = "<YOUR_DEVPLANE_API_KEY>"  # noqa: S105 - a placeholder shown to users, not a secret


async def _oauth2_server(client: Client, ref: str) -> MCPServerConfig:
    server = await mcp_servers.resolve(client, ref)
    if server.auth_type is not AuthType.OAUTH2:
        raise output.fail(
            f"MCP server {server.slug!r} uses {server.auth_type.value} auth: there is no account of yours to connect.",
            "Only oauth2 servers are connected per user; devplane holds the credentials of the others.",
        )
    return server


@app.command("connect")
def connect(
    server: ServerRef,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Only print the URL; do not open a browser.")
    ] = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Connect your account to an OAuth2 MCP server: opens the provider's sign-in in your browser.

    The URL authenticates with your browser's devplane session (its cookie), not with the CLI's
    token, so the browser must be signed in to devplane.
    """

    async def action(client: Client) -> tuple[MCPServerConfig, str]:
        target = await _oauth2_server(client, server)
        return target, client.mcp_oauth2_connect_url(target.id)

    target, url = runner.call(action)
    if not target.enabled:
        raise output.fail(f"MCP server {target.slug!r} is disabled; enable it before connecting.")
    if fmt is OutputFormat.JSON:
        output.message(fmt, f"Open the URL to connect to {target.slug!r}.", url=url, server_id=str(target.id))
    else:
        typer.echo(url)  # bare on stdout, so `$(devplane mcp connect x --no-browser)` captures it
    base = runner.session().url
    output.note(
        f"Open it in a browser that is signed in to devplane at {base}: the link uses that browser session, "
        "not the CLI's token (no session: log in from the browser first, e.g. POST /api/v2/users/login "
        f"at {base}/api/v2/docs)."
    )
    if target.auth_connected:
        output.note("You are already connected; connecting again replaces your token.")
    if not no_browser and not webbrowser.open(url):
        output.note("Could not open a browser; open the URL above yourself.")
    output.note("Then check with `devplane mcp servers show " + target.slug + "` (auth_connected).")


@app.command("disconnect")
def disconnect(server: ServerRef, fmt: Output = OutputFormat.TABLE) -> None:
    """Disconnect your account from an OAuth2 MCP server: devplane deletes your token.

    When the server has a revocation endpoint the token is revoked at the provider first. Running
    it again is harmless.
    """

    async def action(client: Client) -> MCPServerConfig:
        target = await _oauth2_server(client, server)
        await client.mcp_oauth2_disconnect(target.id)
        return target

    target = runner.call(action)
    output.message(fmt, f"Disconnected your account from {target.slug!r}.", server_id=str(target.id))


def gateway_config(url: str, token: str) -> dict[str, Any]:
    """The `mcpServers` entry MCP clients that speak streamable HTTP (Cursor, Claude Code...) take."""
    return {"mcpServers": {"devplane": {"url": url, "headers": {"Authorization": f"Bearer {token}"}}}}


@app.command("gateway-url")
def gateway_url(
    chat: Annotated[
        str | None, typer.Option("--chat", metavar="ID", help="Offer exactly this chat's servers (its effective set).")
    ] = None,
    servers: Annotated[
        str | None,
        typer.Option(
            "--servers",
            metavar="SLUG,SLUG",
            help="Also offer these opt-in servers (forced and default-on ones are in).",
        ),
    ] = None,
    show_token: Annotated[
        bool,
        typer.Option("--show-token", help="Put your current token in the snippet instead of a placeholder."),
    ] = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Print the MCP gateway URL and a JSON snippet to paste into an MCP client's config.

    The gateway is an MCP server (streamable HTTP) offering the tools you may use, with the same
    governance as chats. Clients authenticate with a devplane token as a Bearer header.
    """
    if chat is not None and servers is not None:
        raise typer.BadParameter("use --chat or --servers, not both (a chat's selection already names its servers)")
    current = runner.session()
    slugs = [s.strip() for s in (servers or "").split(",") if s.strip()]
    query: dict[str, str] = {}
    if chat is not None:
        try:
            query["chat_id"] = str(uuid.UUID(chat))
        except ValueError:
            raise typer.BadParameter("must be a chat id (a UUID)", param_hint="--chat") from None
    if slugs:
        query["servers"] = ",".join(slugs)

    async def check(client: Client) -> None:
        # Checked here because the gateway ignores what it does not know: a typo would just mean fewer tools.
        if chat is not None:
            await client.chat(query["chat_id"])
        if slugs:
            await mcp_servers.slugs_to_ids(client, slugs)

    runner.call(check)
    url = f"{current.url}{GATEWAY_PATH}" + (f"?{urlencode(query, safe=',')}" if query else "")
    snippet = gateway_config(url, (current.token or "") if show_token else TOKEN_PLACEHOLDER)
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps({"url": url, **snippet}, indent=2))
    else:
        typer.echo(url)
        typer.echo()
        typer.echo(json.dumps(snippet, indent=2))
    if show_token:
        output.note("The snippet holds your token: keep the file private. A login session expires; an API key lasts.")
    else:
        output.note(f"Replace {TOKEN_PLACEHOLDER} with an API key: `devplane tokens create --name mcp-gateway`.")
    output.note(
        "Cursor: paste it into ~/.cursor/mcp.json. Claude Desktop starts only local commands: bridge with "
        f"`npx -y mcp-remote '{url}' --header 'Authorization:${{AUTH_HEADER}}'`"
        " with AUTH_HEADER='Bearer <key>' in its env."
    )
