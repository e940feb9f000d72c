"""Key rotation and revocation for encrypted columns (coder's `dbcrypt rotate|revoke`).

Rotation works in small batches, each its own transaction, with compare-and-set writes: an
interrupted run loses nothing, a re-run picks up where it stopped, and running twice is a no-op.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devplane.crypto.keyring import Keyring
from devplane.db.crypt_store import CryptStore
from devplane.db.encrypted import ENCRYPTED_COLUMNS
from devplane.db.rows import DBCryptKeyRow
from devplane.db.stack import system_stack
from devplane.errors import Conflict

Progress = Callable[[str, int, int], None]  # (column, done so far, total for column)


@dataclass
class RotationResult:
    reencrypted: dict[str, int]
    revoked: list[str]


def _store(session: AsyncSession, keyring: Keyring, reason: str) -> CryptStore:
    return system_stack(session, keyring, reason)


async def rotate(
    factory: async_sessionmaker[AsyncSession],
    keyring: Keyring,
    *,
    batch_size: int = 200,
    progress: Progress | None = None,
) -> RotationResult:
    primary = keyring.primary
    if primary is None:
        raise ValueError("no encryption key configured")
    result = RotationResult(reencrypted={}, revoked=[])
    for column in ENCRYPTED_COLUMNS:
        name = f"{column.table}.{column.column}"
        async with factory() as session:
            pending = await _store(session, keyring, "count values to rotate").inner.list_encrypted_values(
                column, not_key_id=primary.digest, limit=10_000_000
            )
        total, done = len(pending), 0
        if progress:
            progress(name, 0, total)
        while True:
            async with factory() as session, session.begin():
                n = await _store(session, keyring, "rotate encryption keys").reencrypt_batch(column, batch_size)
            if n == 0:
                break
            done += n
            if progress:
                progress(name, done, max(total, done))
        result.reencrypted[name] = done
    async with factory() as session, session.begin():
        store = _store(session, keyring, "revoke rotated-out keys")
        for key in await store.inner.get_dbcrypt_keys():
            if key.active_key_digest and key.active_key_digest != primary.digest:
                await store.inner.revoke_dbcrypt_key(key.active_key_digest, dt.datetime.now(dt.UTC))
                result.revoked.append(key.active_key_digest)
    return result


async def revoke(factory: async_sessionmaker[AsyncSession], keyring: Keyring, digest: str) -> DBCryptKeyRow:
    async with factory() as session, session.begin():
        store = _store(session, keyring, "revoke an encryption key")
        in_use = {
            f"{c.table}.{c.column}": n
            for c in ENCRYPTED_COLUMNS
            if (n := await store.inner.count_encrypted_values(c, digest))
        }
        if in_use:
            where = ", ".join(f"{k} ({v})" for k, v in in_use.items())
            raise Conflict(
                f"Key {digest} is still used by {where}.",
                detail="Run `devplane dbcrypt rotate` with a new primary key first.",
            )
        return await store.inner.revoke_dbcrypt_key(digest, dt.datetime.now(dt.UTC))


async def key_status(factory: async_sessionmaker[AsyncSession], keyring: Keyring) -> list[DBCryptKeyRow]:
    async with factory() as session:
        return await _store(session, keyring, "list encryption keys").inner.get_dbcrypt_keys()
