"""`devplane chat`: talk to a chat from the terminal, with its answer and tool calls streamed in."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer
from rich.text import Text

from devplane.cli import mcp_servers, output, runner
from devplane.cli.output import Output, OutputFormat
from devplane.sdk.chat_stream import ChatStreamEvent
from devplane.sdk.chats import Chat, ChatMessage, CreateChatMessageRequest, CreateChatRequest
from devplane.sdk.client import Client


def _pick(chats: list[Chat]) -> str | None:
    """Ask which chat; None means a new one."""
    if not chats:
        return None
    err = output.stderr()
    for i, chat in enumerate(chats[:20], 1):
        err.print(Text(f"{i:>2}. {chat.title or '(untitled)'}  [{chat.status}]  {chat.id}"))
    answer = typer.prompt("Chat number, or 'n' for a new chat", default="n", err=True).strip()
    if answer.lower() in ("n", "new", ""):
        return None
    try:
        return str(chats[int(answer) - 1].id)
    except (ValueError, IndexError):
        raise output.fail(f"No chat {answer!r}.") from None


def _result_text(part: dict[str, Any]) -> str:
    blocks = part.get("result") or []
    texts = [str(b.get("text", "")) for b in blocks if b.get("type") == "text"]
    others = [str(b.get("type")) for b in blocks if b.get("type") != "text"]
    return " ".join(t for t in texts if t) or (f"[{', '.join(others)}]" if others else "(empty)")


class Printer:
    """Renders events for people: the answer as it streams, each tool call and its outcome."""

    def __init__(self, fmt: OutputFormat, slugs: dict[str, str]) -> None:
        self.fmt = fmt
        self.slugs = slugs
        self.out = output.stdout()
        self.mid_line = False

    def _line(self) -> None:
        if self.mid_line:
            self.out.print()
            self.mid_line = False

    def event(self, event: ChatStreamEvent) -> None:
        if self.fmt is OutputFormat.JSON:
            typer.echo(event.model_dump_json(exclude_none=True))
            return
        if event.type == "message_part" and event.message_part is not None:
            part = event.message_part.part
            if part.get("type") == "text":
                self.out.print(Text(part.get("text", "")), end="")
                self.mid_line = True
        elif event.type == "message" and event.message is not None:
            self.message(event.message)
        elif event.type == "retry" and event.retry is not None:
            self._line()
            output.note(f"model call failed ({event.retry.kind}); retry in {event.retry.delay_ms} ms")
        elif event.type == "error" and event.error is not None:
            self._line()
            output.stderr().print(Text(f"error: {event.error.message} ({event.error.kind})", style="red"))

    def message(self, message: ChatMessage) -> None:
        for part in message.content:
            kind = part.get("type")
            if kind == "tool-call":
                self._line()
                server = self.slugs.get(str(part.get("mcp_server_config_id")), "?")
                self.out.print(Text(f"→ {server}: {part.get('tool_name')} {part.get('args') or '{}'}", style="cyan"))
            elif kind == "tool-result":
                self._line()
                status = "error" if part.get("is_error") else "ok"
                took = part.get("duration_ms")
                timing = f" ({took:.0f} ms)" if isinstance(took, int | float) else ""
                style = "red" if part.get("is_error") else "green"
                self.out.print(Text(f"← {part.get('tool_name')} {status}{timing}: {_result_text(part)}", style=style))
            elif kind == "notice":
                self._line()
                output.note(str(part.get("text", "")))
        if message.role == "assistant":
            self._line()


async def _turn(client: Client, chat_id: str, text: str, printer: Printer) -> None:
    messages = await client.chat_messages(chat_id)
    position = str(max((m.seq for m in messages), default=0))
    posted = await client.create_chat_message(chat_id, CreateChatMessageRequest(content=text))
    if posted.queued:
        output.note("The chat is busy: your message is queued and will be sent when the turn ends.")
    busy = False
    async for _, event in client.stream_chat(chat_id, position):
        if event.type == "message" and event.message is not None and event.message.role == "user":
            continue  # the user's own message
        printer.event(event)
        if event.type != "status" or event.status is None:
            continue
        if event.status.status in ("pending", "running"):
            busy = True
        elif busy:
            return
        elif (await client.chat(chat_id)).model_config_id is None and not (await client.chat_models()).providers:
            output.note("No model is configured: an owner adds one with `devplane chats models create`.")
            return


def chat(
    chat_id: Annotated[
        str | None, typer.Argument(metavar="[CHAT_ID]", help="The chat; omitted: pick or create one.")
    ] = None,
    new: Annotated[bool, typer.Option("--new", help="Start a new chat.")] = False,
    server: Annotated[
        list[str] | None, typer.Option("--server", metavar="SLUG", help="For a new chat: an MCP server it may use.")
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Send this one message, show the answer, and exit.")
    ] = None,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Talk to an AI chat: type a message, watch the answer and each tool call stream in (Ctrl-D ends)."""

    async def open_chat(client: Client) -> tuple[str, dict[str, str]]:
        slugs = {str(s.id): s.slug for s in await client.mcp_servers()}
        ref = chat_id
        if ref is None and not new:
            ref = _pick(await client.chats())
        if ref is None:
            ids = await mcp_servers.slugs_to_ids(client, server) if server else None
            created = await client.create_chat(CreateChatRequest(mcp_server_ids=ids))
            output.note(f"New chat {created.id}")
            ref = str(created.id)
        else:
            try:
                uuid.UUID(ref)
            except ValueError:
                raise typer.BadParameter(f"{ref!r} is not a chat id") from None
        return ref, slugs

    ref, slugs = runner.call(open_chat)
    printer = Printer(fmt, slugs)
    lines = [message] if message is not None else None
    while True:
        if lines is not None:
            if not lines:
                return
            text = lines.pop()
        else:
            try:
                text = input("> " if fmt is OutputFormat.TABLE else "")
            except EOFError:
                return
        if text.strip():
            _send(ref, text, printer)


def _send(chat_id: str, text: str, printer: Printer) -> None:
    runner.call(lambda client: _turn(client, chat_id, text, printer))
