"""`devplane dbcrypt rotate|revoke|status`: run against the database directly, like the server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from devplane.cli.server import load_settings
from devplane.config import Settings
from devplane.db.database import Database
from devplane.errors import DomainError
from devplane.services import dbcrypt
from devplane.services.keys import StartupError, check_keys, load_keyring

app = typer.Typer(help="Manage encryption of secrets at rest.", no_args_is_help=True)
console = Console(stderr=True)

PgUrl = Annotated[str | None, typer.Option(help="PostgreSQL URL [env DEVPLANE_PG_URL].")]
DataDir = Annotated[Path | None, typer.Option(help="Data directory [env DEVPLANE_DATA_DIR].")]
Keys = Annotated[
    str | None,
    typer.Option(help="Comma list of base64 keys, new primary first [env DEVPLANE_EXTERNAL_TOKEN_ENCRYPTION_KEYS]."),
]


def _settings(pg_url: str | None, data_dir: Path | None, keys: str | None) -> Settings:
    return load_settings(pg_url=pg_url, data_dir=data_dir, external_token_encryption_keys=keys)


async def _open(settings: Settings) -> Database:
    db = Database(settings.database_url, load_keyring(settings))
    try:
        await db.migrate()
        await check_keys(db)
    except BaseException:
        await db.dispose()
        raise
    return db


def _fail(exc: Exception) -> typer.Exit:
    message = exc.message if isinstance(exc, DomainError) else str(exc)
    detail = f" ({exc.detail})" if isinstance(exc, DomainError) and exc.detail else ""
    console.print(f"[red]error:[/red] {message}{detail}")
    return typer.Exit(1)


@app.command("rotate")
def rotate(
    pg_url: PgUrl = None,
    data_dir: DataDir = None,
    keys: Keys = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
) -> None:
    """Re-encrypt every secret with the primary (first) key, then revoke the others. Safe to re-run."""
    settings = _settings(pg_url, data_dir, keys)

    async def run() -> dbcrypt.RotationResult:
        db = await _open(settings)
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
                tasks: dict[str, TaskID] = {}

                def report(name: str, done: int, total: int) -> None:
                    if name not in tasks:
                        tasks[name] = bar.add_task(name, total=total)
                    bar.update(tasks[name], completed=done, total=total)

                return await dbcrypt.rotate(db, batch_size=batch_size, progress=report)
        finally:
            await db.dispose()

    try:
        result = asyncio.run(run())
    except (StartupError, DomainError, ValueError) as exc:
        raise _fail(exc) from None
    total = sum(result.reencrypted.values())
    console.print(f"re-encrypted {total} value(s); revoked keys: {', '.join(result.revoked) or 'none'}")


@app.command("revoke")
def revoke(digest: str, pg_url: PgUrl = None, data_dir: DataDir = None, keys: Keys = None) -> None:
    """Revoke a key by digest. Refuses while any value still uses it."""
    settings = _settings(pg_url, data_dir, keys)

    async def run() -> None:
        db = await _open(settings)
        try:
            await dbcrypt.revoke(db, digest)
        finally:
            await db.dispose()

    try:
        asyncio.run(run())
    except (StartupError, DomainError, ValueError) as exc:
        raise _fail(exc) from None
    console.print(f"revoked key {digest}")
