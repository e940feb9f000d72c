"""Registry of every encrypted column. Rotation, revocation checks and tests iterate it.

Adding an encrypted column: add `x` and `x_key_id` (FK to dbcrypt_keys.active_key_digest) in
a migration, append an EncryptedColumn here, and route its reads and writes through CryptStore.
"""

from __future__ import annotations

from devplane.db.rows import EncryptedColumn

ENCRYPTED_COLUMNS: list[EncryptedColumn] = []


def register(column: EncryptedColumn) -> EncryptedColumn:
    if column not in ENCRYPTED_COLUMNS:
        ENCRYPTED_COLUMNS.append(column)
    return column


def unregister(column: EncryptedColumn) -> None:
    if column in ENCRYPTED_COLUMNS:
        ENCRYPTED_COLUMNS.remove(column)
