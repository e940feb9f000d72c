"""`devplane audit`: read the audit log (owner and auditor)."""

from __future__ import annotations

from typing import Annotated

import typer

from devplane.cli import output, runner
from devplane.cli.output import Output, OutputFormat
from devplane.sdk.audit import AuditLogsResponse

COLUMNS: list[output.Column] = [
    ("TIME", lambda e: e.time),
    ("USER", lambda e: e.username or "-"),
    ("ACTION", lambda e: e.action),
    ("RESOURCE", lambda e: e.resource_type),
    ("TARGET", lambda e: e.resource_target or e.resource_id),
    ("STATUS", lambda e: e.status_code),
    ("IP", lambda e: e.ip),
    ("CHANGED", lambda e: sorted(e.diff)),
]


def audit(
    query: Annotated[
        str,
        typer.Option(
            "--query",
            "-q",
            help="Filter: space-separated key:value terms with keys resource_type, action, username, "
            "user_id, resource_id, since, until; e.g. 'resource_type:user action:create'.",
        ),
    ] = "",
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Most entries to show, newest first.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Entries to skip, for paging.")] = 0,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Show the audit log: who changed users, roles and API keys, and every login and logout."""
    result: AuditLogsResponse = runner.call(lambda client: client.audit_logs(query, limit=limit, offset=offset))
    if fmt is OutputFormat.JSON:
        output.emit(fmt, result, [])
        return
    output.table(result.audit_logs, COLUMNS)
    output.note(f"{len(result.audit_logs)} of {result.count} matching entries (offset {offset}).")
