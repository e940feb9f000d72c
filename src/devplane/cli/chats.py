"""`devplane chats create|list|show|tools|call`: chats and the MCP tools they may use."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from devplane.cli import chat_models, mcp_secrets, mcp_servers, output, runner
from devplane.cli.output import Output, OutputFormat
from devplane.sdk.chats import Chat, CreateChatRequest
from devplane.sdk.client import Client
from devplane.sdk.mcp_runtime import CallToolRequest, CallToolResponse, ChatTools

app = typer.Typer(help="Chats and the MCP servers and tools each one may use.", no_args_is_help=True)

ChatRef = Annotated[str, typer.Argument(metavar="CHAT_ID", help="The chat's id.", show_default=False)]


def _columns(slugs: dict[uuid.UUID, str]) -> list[output.Column]:
    def names(ids: Sequence[uuid.UUID]) -> list[str]:
        return [slugs.get(i, str(i)) for i in ids]

    return [
        ("ID", lambda c: c.id),
        ("TITLE", lambda c: c.title or "-"),
        ("SERVERS", lambda c: names(c.mcp_server_ids)),
        ("EFFECTIVE", lambda c: names(c.effective_mcp_server_ids)),
        ("CREATED", lambda c: c.created_at),
    ]


def _emit(fmt: OutputFormat, result: tuple[Chat | list[Chat], dict[uuid.UUID, str]]) -> None:
    data, slugs = result
    output.emit(fmt, data, _columns(slugs))


async def _slugs(client: Client, fmt: OutputFormat) -> dict[uuid.UUID, str]:
    # Only people read slugs; scripts get the ids and are spared the extra request.
    return {} if fmt is OutputFormat.JSON else {s.id: s.slug for s in await client.mcp_servers()}


@app.command("create")
def create(
    title: Annotated[str, typer.Option(help="A title for the chat.")] = "",
    server: Annotated[
        list[str] | None,
        typer.Option("--server", metavar="SLUG", help="An MCP server the chat may use; repeatable."),
    ] = None,
    no_servers: Annotated[
        bool, typer.Option("--no-servers", help="Start with no servers (forced ones still apply).")
    ] = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Start a chat. Without --server or --no-servers it gets the default-on servers."""
    if server and no_servers:
        raise typer.BadParameter("use --server or --no-servers, not both")

    async def action(client: Client) -> tuple[Chat, dict[uuid.UUID, str]]:
        if server:
            req = CreateChatRequest(title=title, mcp_server_ids=await mcp_servers.slugs_to_ids(client, server))
        elif no_servers:
            req = CreateChatRequest(title=title, mcp_server_ids=[])
        else:
            req = CreateChatRequest(title=title)  # the field left out: the server picks the defaults
        return await client.create_chat(req), await _slugs(client, fmt)

    _emit(fmt, runner.call(action))


@app.command("list")
def list_chats(fmt: Output = OutputFormat.TABLE) -> None:
    """List your chats."""

    async def action(client: Client) -> tuple[list[Chat], dict[uuid.UUID, str]]:
        return await client.chats(), await _slugs(client, fmt)

    _emit(fmt, runner.call(action))


@app.command("show")
def show(chat: ChatRef, fmt: Output = OutputFormat.TABLE) -> None:
    """Show a chat: its server selection and the effective set (plus forced servers, minus disabled)."""

    async def action(client: Client) -> tuple[Chat, dict[uuid.UUID, str]]:
        return await client.chat(chat), await _slugs(client, fmt)

    _emit(fmt, runner.call(action))


TOOL_COLUMNS: list[output.Column] = [
    ("TOOL", lambda t: t.name),
    ("SERVER", lambda t: t.server_slug),
    ("DESCRIPTION", lambda t: (t.description.strip().splitlines() or ["-"])[0]),
]
SERVER_COLUMNS: list[output.Column] = [
    ("SERVER", lambda s: s.slug),
    ("STATUS", lambda s: s.status),
    ("REASON", lambda s: s.reason or "-"),
    ("TOOLS", lambda s: s.tool_count),
    ("LATENCY", lambda s: f"{s.latency_ms:.0f} ms"),
]


@app.command("tools")
def tools(
    chat: ChatRef,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ask the upstreams again instead of the cache.")] = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """The tools the chat's agent may call (named <slug>__<tool>), and each server's status."""
    result: ChatTools = runner.call(lambda client: client.chat_tools(chat, refresh))
    if fmt is OutputFormat.JSON:
        output.emit(fmt, result, [])
        return
    if result.tools:
        output.table(result.tools, TOOL_COLUMNS)
        output.stdout().print()
    else:
        output.note("No tools: the chat has no servers, or none of them is connected (see STATUS).")
    output.table(result.servers, SERVER_COLUMNS)


@app.command("call")
def call(
    chat: ChatRef,
    tool: Annotated[str, typer.Argument(help="The tool's name as `chats tools` shows it (slug__tool).")],
    args: Annotated[
        str | None,
        typer.Option("--args", metavar="JSON", help='The arguments as a JSON object, e.g. \'{"text": "hi"}\'.'),
    ] = None,
    args_file: Annotated[
        str | None,
        typer.Option("--args-file", metavar="PATH|-", help="Read the JSON arguments from a file, or '-' for stdin."),
    ] = None,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Call one of the chat's tools. Exits 1 when the tool reports an error."""
    if args is not None and args_file is not None:
        raise typer.BadParameter("use --args or --args-file, not both")
    raw = mcp_secrets.read_text(args_file, "--args-file") if args_file is not None else args or "{}"
    try:
        arguments: Any = json.loads(raw)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--args") from None
    if not isinstance(arguments, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--args")

    async def action(client: Client) -> CallToolResponse:
        return await client.call_chat_tool(chat, CallToolRequest(name=tool, arguments=arguments))

    result = runner.call(action)
    if fmt is OutputFormat.JSON:
        output.emit(fmt, result, [])
    else:
        for part in result.content:
            text = part.get("text") if part.get("type") == "text" else json.dumps(part)
            output.stdout().print(str(text), markup=False)
    if result.is_error:
        raise typer.Exit(1)


# --- chat loop (issue 10): models and providers -----------------------------------------------------
app.add_typer(chat_models.providers_app, name="providers")
app.add_typer(chat_models.models_app, name="models")
app.add_typer(chat_models.prompt_app, name="system-prompt")
