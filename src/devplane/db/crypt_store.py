"""CryptStore: the only code that sees plaintext secrets (coder's dbcrypt wrapper).

It wraps the authorized store, so only rows that passed authorization are decrypted. Methods
without secrets pass straight through `__getattr__`; secret-bearing methods are overridden.
Decrypting with an unknown or revoked key raises DecryptFailed, never an empty value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from devplane.crypto.cipher import CipherError
from devplane.crypto.keyring import Keyring
from devplane.db.crypt_chat_admin import CryptChatAdmin
from devplane.db.crypt_mcp import CryptMCP
from devplane.db.rows import DBCryptKeyRow, EncryptedColumn
from devplane.db.store import Store
from devplane.errors import DecryptFailed

TEST_PLAINTEXT = "devplane"


@dataclass(frozen=True)
class Sealed:
    value: str
    key_id: str | None


class KeyCheckError(Exception):
    """A configured key is wrong or revoked; the server must not start."""


class CryptStore(CryptMCP, CryptChatAdmin):
    def __init__(self, inner: Store, keyring: Keyring) -> None:
        self.inner = inner
        self.keyring = keyring

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def as_system(self, reason: str) -> Store:
        return wrap(self.inner.as_system(reason), self.keyring)

    # --- field helpers (used by the secret-bearing overrides) --------------------------------
    def seal(self, column: EncryptedColumn, row_id: object, plaintext: str) -> Sealed:
        primary = self.keyring.primary
        if not plaintext.strip() or primary is None:
            return Sealed(plaintext if primary is None else "", None)
        return Sealed(primary.encrypt(plaintext, column.aad(row_id)), primary.digest)

    def open(self, column: EncryptedColumn, row_id: object, value: str, key_id: str | None) -> str:
        if not key_id:
            return value
        try:
            return self.keyring.by_digest(key_id).decrypt(value, column.aad(row_id))
        except CipherError as exc:
            raise DecryptFailed(
                f"Failed to decrypt {column.table}.{column.column}.",
                detail=f"{exc}. Check DEVPLANE_EXTERNAL_TOKEN_ENCRYPTION_KEYS.",
            ) from exc

    # --- startup key checks ------------------------------------------------------------------
    async def ensure_keys(self, now: dt.datetime) -> None:
        """Check every configured key against its `test` value; register the primary if new."""
        rows = await self.inner.get_dbcrypt_keys()
        revoked = {r.revoked_key_digest for r in rows if r.revoked_key_digest}
        active = {r.active_key_digest: r for r in rows if r.active_key_digest}
        for index, cipher in enumerate(self.keyring.ciphers):
            if cipher.digest in revoked:
                which = "primary key" if index == 0 else f"key #{index + 1}"
                raise KeyCheckError(f"The {which} ({cipher.digest}) has been revoked; remove it from the key list.")
            row = active.get(cipher.digest)
            if row is None:
                continue
            try:
                ok = cipher.decrypt(row.test, f"dbcrypt_keys.test.{row.number}") == TEST_PLAINTEXT
            except CipherError:
                ok = False
            if not ok:
                raise KeyCheckError(f"Key {cipher.digest} does not decrypt its test value: wrong key material.")
        primary = self.keyring.primary
        if primary is not None and primary.digest not in active:
            number = max((r.number for r in rows), default=0) + 1
            await self.inner.insert_dbcrypt_key(
                DBCryptKeyRow(
                    number=number,
                    active_key_digest=primary.digest,
                    revoked_key_digest=None,
                    created_at=now,
                    revoked_at=None,
                    test=primary.encrypt(TEST_PLAINTEXT, f"dbcrypt_keys.test.{number}"),
                )
            )

    # --- rotation ----------------------------------------------------------------------------
    async def reencrypt_batch(self, column: EncryptedColumn, limit: int) -> int:
        """Re-encrypt up to `limit` values of `column` not yet under the primary key.

        Returns how many were rewritten. Compare-and-set writes make a concurrent or
        interrupted run safe: a value is either fully under the old key or the new one.
        """
        primary = self.keyring.primary
        if primary is None:
            return 0
        values = await self.inner.list_encrypted_values(column, not_key_id=primary.digest, limit=limit)
        done = 0
        for item in values:
            plaintext = self.open(column, item.row_id, item.value, item.key_id)
            sealed = self.seal(column, item.row_id, plaintext)
            if await self.inner.update_encrypted_value(
                column, item.row_id, expected_key_id=item.key_id, value=sealed.value, key_id=sealed.key_id
            ):
                done += 1
        return done


def wrap(inner: Store, keyring: Keyring) -> Store:
    """The crypt layer as a `Store`. Unlisted methods pass through `__getattr__`, which mypy
    cannot see, hence the cast; tests/db/test_store_stack.py checks every protocol method
    resolves on a CryptStore."""
    return cast(Store, CryptStore(inner, keyring))
