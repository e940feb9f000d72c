"""`devplane dbcrypt rotate|revoke|status`: run against the database directly, like the server.

Database and service modules are imported inside the commands so that client commands do
not pay for them at start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from devplane.cli import output
from devplane.cli.output import Output, OutputFormat
from devplane.cli.settings import flag_help, load_settings
from devplane.config import Settings

if TYPE_CHECKING:
    from devplane.db.database import Database

T = TypeVar("T")
app = typer.Typer(
    help="Manage encryption of secrets at rest (runs against the database, not the API).", no_args_is_help=True
)

PgUrl = Annotated[str | None, typer.Option(help=flag_help("pg_url"))]
DataDir = Annotated[Path | None, typer.Option(help=flag_help("data_dir"))]
Keys = Annotated[
    str | None,
    typer.Option(help=flag_help("external_token_encryption_keys", "Put the new primary key first.")),
]


def _settings(pg_url: str | None, data_dir: Path | None, keys: str | None) -> Settings:
    return load_settings(pg_url=pg_url, data_dir=data_dir, external_token_encryption_keys=keys)


def _with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database as the server would (migrate, check keys), run `work`, close it."""
    from devplane import logging as dlog
    from devplane.db.database import Database
    from devplane.errors import DomainError
    from devplane.services.keys import StartupError, check_keys, load_keyring

    dlog.configure("warning")  # logs to stderr: stdout carries only the result (JSON with -o json)

    async def main() -> T:
        db = Database(settings.database_url, load_keyring(settings))
        try:
            await db.migrate()
            await check_keys(db)
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        raise output.fail(exc.message, exc.detail) from None
    except (StartupError, ValueError) as exc:
        raise output.fail(str(exc)) from None


@app.command("rotate")
def rotate(
    pg_url: PgUrl = None,
    data_dir: DataDir = None,
    keys: Keys = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows re-encrypted per transaction.")] = 200,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Re-encrypt every secret with the primary (first) key, then revoke the others. Safe to re-run."""
    from devplane.services import dbcrypt

    async def work(db: Database) -> dbcrypt.RotationResult:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=output.stderr(), disable=fmt is OutputFormat.JSON) as bar:
            tasks: dict[str, TaskID] = {}

            def report(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done, total=total)

            return await dbcrypt.rotate(db, batch_size=batch_size, progress=report)

    result = _with_db(_settings(pg_url, data_dir, keys), work)
    total = sum(result.reencrypted.values())
    text = f"Re-encrypted {total} value(s); revoked keys: {', '.join(result.revoked) or 'none'}."
    output.message(fmt, text, reencrypted=result.reencrypted, revoked=result.revoked)


@app.command("revoke")
def revoke(
    digest: Annotated[str, typer.Argument(help="The key's digest, from `dbcrypt status`.", show_default=False)],
    pg_url: PgUrl = None,
    data_dir: DataDir = None,
    keys: Keys = None,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Revoke a key by digest. Refuses while any value still uses it."""
    from devplane.services import dbcrypt

    async def work(db: Database) -> None:
        await dbcrypt.revoke(db, digest)

    _with_db(_settings(pg_url, data_dir, keys), work)
    output.message(fmt, f"Revoked key {digest}.", digest=digest)


@app.command("status")
def status(pg_url: PgUrl = None, data_dir: DataDir = None, keys: Keys = None, fmt: Output = OutputFormat.TABLE) -> None:
    """List the encryption keys the database knows, active and revoked."""
    from devplane.services import dbcrypt

    rows = _with_db(_settings(pg_url, data_dir, keys), dbcrypt.key_status)
    if fmt is OutputFormat.JSON:
        fields = ("number", "active_key_digest", "revoked_key_digest", "created_at", "revoked_at")
        data = [{f: getattr(r, f) for f in fields} for r in rows]  # never the `test` ciphertext
        output.message(fmt, f"{len(rows)} key(s).", keys=data)
        return
    output.table(
        rows,
        [
            ("NUMBER", lambda r: r.number),
            ("ACTIVE DIGEST", lambda r: r.active_key_digest),
            ("REVOKED DIGEST", lambda r: r.revoked_key_digest),
            ("CREATED", lambda r: r.created_at),
            ("REVOKED", lambda r: r.revoked_at),
        ],
    )
