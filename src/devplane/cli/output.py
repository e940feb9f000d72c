"""Rendering: `--output table` (rich, for people) or `--output json` (the SDK models, for scripts)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from devplane.sdk.errors import DevplaneError

M = TypeVar("M", bound=BaseModel)


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


Output = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        case_sensitive=False,
        help="Output format: 'table' for people, 'json' (the API's JSON) for scripts.",
    ),
]

Column = tuple[str, Callable[[Any], object]]


def stdout() -> Console:
    # Piped output is not a terminal: rich would fold tables at 80 columns and break grep/cut.
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 200)
    return console


def stderr() -> Console:
    # soft_wrap: messages are not broken at 80 columns, so a copied command or token stays whole.
    return Console(stderr=True, highlight=False, soft_wrap=True)


def cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    return str(value)


def table(rows: Sequence[Any], columns: Sequence[Column]) -> None:
    grid = Table(show_edge=False, box=None, pad_edge=False, header_style="bold")
    for header, _ in columns:
        grid.add_column(header, overflow="fold")
    for row in rows:
        # Text(), not markup: server data such as "[secret changed]" must print literally.
        grid.add_row(*(Text(cell(get(row))) for _, get in columns))
    stdout().print(grid)


def emit(fmt: OutputFormat, data: M | Sequence[M], columns: Sequence[Column]) -> None:
    """Print one model or a list of them in the chosen format."""
    if fmt is OutputFormat.JSON:
        if isinstance(data, BaseModel):
            typer.echo(data.model_dump_json(indent=2))
        else:
            typer.echo(TypeAdapter(list[Any]).dump_json(list(data), indent=2).decode())
        return
    table([data] if isinstance(data, BaseModel) else data, columns)


def message(fmt: OutputFormat, text: str, **fields: object) -> None:
    """A confirmation: plain text for people, `{"message": ..., **fields}` for scripts."""
    if fmt is OutputFormat.JSON:
        typer.echo(TypeAdapter(dict[str, Any]).dump_json({"message": text, **fields}, indent=2).decode())
    else:
        stdout().print(Text(text))


def note(text: str) -> None:
    """A hint for people on stderr, so it never pollutes JSON on stdout."""
    stderr().print(Text(text, style="dim"))


def fail(text: str, detail: str | None = None) -> typer.Exit:
    """Print an error in red on stderr and return the exit to raise (code 1)."""
    console = stderr()
    console.print(Text(f"error: {text}", style="bold red"))
    if detail:
        console.print(Text(detail, style="red"))
    return typer.Exit(1)


def api_error(exc: DevplaneError) -> typer.Exit:
    """Render the API's error envelope: message, detail and each field validation."""
    console = stderr()
    console.print(Text(f"error: {exc.response.message}", style="bold red"))
    if exc.response.detail:
        console.print(Text(exc.response.detail, style="red"))
    for v in exc.response.validations or []:
        console.print(Text(f"  {v.field}: {v.detail}", style="red"))
    if exc.status_code == 401:
        console.print(Text("Run `devplane login <url>` to log in again.", style="dim"))
    return typer.Exit(1)


def invalid_input(exc: ValidationError) -> typer.Exit:
    """Render a client-side validation failure in the same shape as the API's envelope."""
    console = stderr()
    console.print(Text("error: Invalid input.", style="bold red"))
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "input"
        console.print(Text(f"  {field}: {err['msg']}", style="red"))
    return typer.Exit(1)
