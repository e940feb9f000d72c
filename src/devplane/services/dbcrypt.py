"""Key rotation and revocation for encrypted columns (coder's `dbcrypt rotate|revoke`).

Rotation works in small batches, each its own transaction, with compare-and-set writes: an
interrupted run loses nothing, a re-run picks up where it stopped, and running twice is a no-op.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from devplane.db.database import Database
from devplane.db.encrypted import ENCRYPTED_COLUMNS
from devplane.db.rows import DBCryptKeyRow
from devplane.errors import Conflict

Progress = Callable[[str, int, int], None]  # (column, done so far, total for column)


@dataclass
class RotationResult:
    reencrypted: dict[str, int]
    revoked: list[str]


async def rotate(db: Database, *, batch_size: int = 200, progress: Progress | None = None) -> RotationResult:
    primary = db.keyring.primary
    if primary is None:
        raise ValueError("no encryption key configured")
    result = RotationResult(reencrypted={}, revoked=[])
    for column in ENCRYPTED_COLUMNS:
        name = f"{column.table}.{column.column}"
        async with db.session() as tx:
            total = await tx.system("count values to rotate").inner.count_encrypted_values(
                column, None, not_key_id=primary.digest
            )
        done = 0
        if progress:
            progress(name, 0, total)
        while True:
            async with db.transaction() as tx:
                n = await tx.system("rotate encryption keys").reencrypt_batch(column, batch_size)
            if n == 0:
                break
            done += n
            if progress:
                progress(name, done, max(total, done))
        result.reencrypted[name] = done
    async with db.transaction() as tx:
        store = tx.system("revoke rotated-out keys").inner
        for key in await store.get_dbcrypt_keys():
            if key.active_key_digest and key.active_key_digest != primary.digest:
                await store.revoke_dbcrypt_key(key.active_key_digest, dt.datetime.now(dt.UTC))
                result.revoked.append(key.active_key_digest)
    return result


async def revoke(db: Database, digest: str) -> DBCryptKeyRow:
    async with db.transaction() as tx:
        store = tx.system("revoke an encryption key").inner
        in_use = {
            f"{c.table}.{c.column}": n
            for c in ENCRYPTED_COLUMNS
            if (n := await store.count_encrypted_values(c, digest))
        }
        if in_use:
            where = ", ".join(f"{k} ({v})" for k, v in in_use.items())
            raise Conflict(
                f"Key {digest} is still used by {where}.",
                detail="Run `devplane dbcrypt rotate` with a new primary key first.",
            )
        return await store.revoke_dbcrypt_key(digest, dt.datetime.now(dt.UTC))


async def key_status(db: Database) -> list[DBCryptKeyRow]:
    async with db.session() as tx:
        return await tx.system("list encryption keys").inner.get_dbcrypt_keys()
