"""`devplane mcp servers list|show|create|edit|delete|tools`: admin-managed MCP server configs."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from devplane.cli import mcp_flags as f
from devplane.cli import mcp_secrets, output, runner
from devplane.cli.output import Output, OutputFormat
from devplane.sdk.client import Client
from devplane.sdk.mcp import (
    AuthType,
    Availability,
    CreateMCPServerConfigRequest,
    MCPServerConfig,
    Transport,
    UpdateMCPServerConfigRequest,
)
from devplane.sdk.mcp_runtime import ServerTools

app = typer.Typer(
    help="MCP servers your chats may use. Everyone can list them; registering and changing them needs an owner.",
    no_args_is_help=True,
)


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def connected(s: MCPServerConfig) -> str:
    # Only OAuth2 is per user; the API reports true for the other types, which says nothing here.
    return yes_no(s.auth_connected) if s.auth_type is AuthType.OAUTH2 else "-"


COLUMNS: list[output.Column] = [
    ("SLUG", lambda s: s.slug),
    ("NAME", lambda s: s.display_name),
    ("TRANSPORT", lambda s: s.transport or "-"),  # blank for members
    ("AUTH", lambda s: s.auth_type),
    ("AVAILABILITY", lambda s: s.availability),
    ("ENABLED", lambda s: yes_no(s.enabled)),
    ("CONNECTED", connected),
]

ServerRef = Annotated[str, typer.Argument(metavar="SERVER", help="The server's slug or id.", show_default=False)]


async def resolve(client: Client, ref: str) -> MCPServerConfig:
    """The config named by `ref`: an id, else a slug looked up in the list the caller may see."""
    try:
        server_id = uuid.UUID(ref)
    except ValueError:
        pass
    else:
        return await client.mcp_server(server_id)
    for server in await client.mcp_servers():
        if server.slug == ref:
            return server
    raise output.fail(f"No MCP server {ref!r}.", "`devplane mcp servers list` shows the servers you can see.")


async def slugs_to_ids(client: Client, slugs: list[str]) -> list[uuid.UUID]:
    """Resolve several slugs with one list request; unknown ones are all named in one error."""
    by_slug = {s.slug: s.id for s in await client.mcp_servers()}
    unknown = [s for s in slugs if s not in by_slug]
    if unknown:
        raise output.fail(
            f"No MCP server {', '.join(map(repr, unknown))}.",
            "`devplane mcp servers list` shows the servers you can see.",
        )
    return [by_slug[s] for s in slugs]


def show_details(fmt: OutputFormat, server: MCPServerConfig) -> None:
    """One config, field by field (there is no secret in it to hide: responses only carry has_* flags)."""
    if fmt is OutputFormat.JSON:
        output.emit(fmt, server, [])
        return
    rows = [(name, value) for name, value in server.model_dump().items()]
    output.table(rows, [("FIELD", lambda r: r[0]), ("VALUE", lambda r: r[1] if r[1] != "" else "-")])


@app.command("list")
def list_servers(fmt: Output = OutputFormat.TABLE) -> None:
    """List the MCP servers you may see (members: enabled ones, without their connection details)."""
    output.emit(fmt, runner.call(lambda client: client.mcp_servers()), COLUMNS)


@app.command("show")
def show(server: ServerRef, fmt: Output = OutputFormat.TABLE) -> None:
    """Show one MCP server's settings; secrets appear only as has_* flags and header names."""
    show_details(fmt, runner.call(lambda client: resolve(client, server)))


@app.command("create")
def create(
    display_name: f.RequiredDisplayName,
    slug: f.RequiredSlug,
    url: f.RequiredUrl,
    transport: f.TransportOpt = Transport.STREAMABLE_HTTP,
    auth_type: f.AuthTypeOpt = AuthType.NONE,
    availability: f.AvailabilityOpt = Availability.DEFAULT_OFF,
    enabled: f.Enabled = False,
    description: f.Description = None,
    icon_url: f.IconUrl = None,
    oauth2_client_id: f.OAuth2ClientId = None,
    oauth2_auth_url: f.OAuth2AuthUrl = None,
    oauth2_token_url: f.OAuth2TokenUrl = None,
    oauth2_revocation_url: f.OAuth2RevocationUrl = None,
    oauth2_scopes: f.OAuth2Scopes = None,
    api_key_header: f.ApiKeyHeader = None,
    header_name: f.HeaderNames = None,
    allow: f.Allow = None,
    deny: f.Deny = None,
    oauth2_client_secret_file: f.OAuth2SecretFile = None,
    api_key_file: f.ApiKeyFile = None,
    headers_file: f.HeadersFile = None,
    prompt_secrets: f.PromptSecrets = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Register an MCP server (owners). It starts disabled unless --enabled.

    Secrets are never arguments: use --api-key-file, --oauth2-client-secret-file, --headers-file
    (a path, or '-' for standard input) or --prompt-secrets.
    """
    sources = mcp_secrets.SecretSources(
        oauth2_client_secret_file=oauth2_client_secret_file,
        api_key_file=api_key_file,
        headers_file=headers_file,
        header_names=list(header_name or []),
        prompt=prompt_secrets,
    )
    # Secrets are read before anything is sent, so a bad file never leaves a half-made server behind.
    fields: dict[str, Any] = f.plain_fields(
        display_name=display_name,
        slug=slug,
        url=url,
        transport=transport,
        auth_type=auth_type,
        availability=availability,
        enabled=enabled,
        description=description,
        icon_url=icon_url,
        oauth2_client_id=oauth2_client_id,
        oauth2_auth_url=oauth2_auth_url,
        oauth2_token_url=oauth2_token_url,
        oauth2_revocation_url=oauth2_revocation_url,
        oauth2_scopes=oauth2_scopes,
        api_key_header=api_key_header,
        allow=allow,
        deny=deny,
    ) | mcp_secrets.collect(sources, auth_type, editing=False)

    async def action(client: Client) -> MCPServerConfig:
        return await client.create_mcp_server(CreateMCPServerConfigRequest(**fields))

    show_details(fmt, runner.call(action))


@app.command("edit")
def edit(
    server: ServerRef,
    display_name: f.DisplayName = None,
    slug: f.Slug = None,
    url: f.Url = None,
    transport: f.TransportOpt = None,
    auth_type: f.AuthTypeOpt = None,
    availability: f.AvailabilityOpt = None,
    enabled: f.Enabled = None,
    description: f.Description = None,
    icon_url: f.IconUrl = None,
    oauth2_client_id: f.OAuth2ClientId = None,
    oauth2_auth_url: f.OAuth2AuthUrl = None,
    oauth2_token_url: f.OAuth2TokenUrl = None,
    oauth2_revocation_url: f.OAuth2RevocationUrl = None,
    oauth2_scopes: f.OAuth2Scopes = None,
    api_key_header: f.ApiKeyHeader = None,
    header_name: f.HeaderNames = None,
    allow: f.Allow = None,
    deny: f.Deny = None,
    oauth2_client_secret_file: f.OAuth2SecretFile = None,
    api_key_file: f.ApiKeyFile = None,
    headers_file: f.HeadersFile = None,
    prompt_secrets: f.PromptSecrets = False,
    clear_oauth2_client_secret: Annotated[
        bool, typer.Option("--clear-oauth2-client-secret", help="Remove the OAuth2 client secret.")
    ] = False,
    clear_api_key: Annotated[bool, typer.Option("--clear-api-key", help="Remove the API key.")] = False,
    clear_headers: Annotated[bool, typer.Option("--clear-headers", help="Remove every custom header.")] = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Change an MCP server (owners): only the options given are sent; everything else is kept.

    Lists (--allow, --deny) and the custom headers replace the old ones whole. --disabled is the
    kill switch: nobody is offered the server's tools from then on, and open sessions close.
    """
    sources = mcp_secrets.SecretSources(
        oauth2_client_secret_file=oauth2_client_secret_file,
        api_key_file=api_key_file,
        headers_file=headers_file,
        header_names=list(header_name or []),
        prompt=prompt_secrets,
        clear_oauth2_client_secret=clear_oauth2_client_secret,
        clear_api_key=clear_api_key,
        clear_headers=clear_headers,
    )
    fields = f.plain_fields(
        display_name=display_name,
        slug=slug,
        url=url,
        transport=transport,
        auth_type=auth_type,
        availability=availability,
        enabled=enabled,
        description=description,
        icon_url=icon_url,
        oauth2_client_id=oauth2_client_id,
        oauth2_auth_url=oauth2_auth_url,
        oauth2_token_url=oauth2_token_url,
        oauth2_revocation_url=oauth2_revocation_url,
        oauth2_scopes=oauth2_scopes,
        api_key_header=api_key_header,
        allow=allow,
        deny=deny,
    )
    current = runner.call(lambda client: resolve(client, server))
    fields |= mcp_secrets.collect(sources, auth_type or current.auth_type, editing=True)
    if not fields:
        raise output.fail(
            "Nothing to change.", "Give at least one option; `devplane mcp servers edit --help` lists them."
        )

    async def action(client: Client) -> MCPServerConfig:
        return await client.update_mcp_server(current.id, UpdateMCPServerConfigRequest(**fields))

    show_details(fmt, runner.call(action))


@app.command("delete")
def delete(
    server: ServerRef,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Delete an MCP server (owners): it leaves every chat, and users' OAuth2 tokens for it are deleted."""
    target = runner.call(lambda client: resolve(client, server))
    question = f"Delete MCP server {target.slug!r} ({target.display_name})? Chats lose it and tokens are deleted."
    if not yes and not typer.confirm(question, err=True):
        raise output.fail("Not deleted.")

    async def action(client: Client) -> None:
        await client.delete_mcp_server(target.id)

    runner.call(action)
    output.message(fmt, f"Deleted MCP server {target.slug!r}.", id=str(target.id), slug=target.slug)


TOOL_COLUMNS: list[output.Column] = [
    ("TOOL", lambda t: t.name),
    ("ALLOWED", lambda t: yes_no(t.allowed)),
    ("DESCRIPTION", lambda t: (t.description.strip().splitlines() or ["-"])[0]),
]


@app.command("tools")
def tools(
    server: ServerRef,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ask the upstream again instead of the cache.")] = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Check an upstream (owners): connect with your own credentials and list its raw tools.

    ALLOWED says whether the allow and deny lists let a tool through to chats and the gateway.
    Works on a disabled server too, so you can check it before enabling it.
    """

    async def action(client: Client) -> ServerTools:
        return await client.mcp_server_tools((await resolve(client, server)).id, refresh)

    result = runner.call(action)
    if fmt is OutputFormat.JSON:
        output.emit(fmt, result, [])
        return
    status = result.server
    reason = f": {status.reason}" if status.reason else ""
    output.stdout().print(f"{status.slug}: {status.status}{reason} ({status.latency_ms:.0f} ms)", markup=False)
    if result.tools:
        output.table(result.tools, TOOL_COLUMNS)
    allowed = sum(t.allowed for t in result.tools)
    output.note(f"{len(result.tools)} tools, {allowed} allowed.")
