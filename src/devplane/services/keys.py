"""Encryption-key set-up at start: load or generate keys, then check them against the DB."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import structlog

from devplane.config import Settings
from devplane.crypto.cipher import generate_key
from devplane.crypto.keyring import Keyring
from devplane.db.crypt_store import KeyCheckError
from devplane.db.database import Database

log = structlog.get_logger(__name__)
KEY_FILE = "external-token-encryption.key"


class StartupError(Exception):
    """The server cannot start; the message says what to do."""


def load_keyring(settings: Settings) -> Keyring:
    encoded = list(settings.external_token_encryption_keys)
    if not encoded:
        if not settings.uses_sqlite:
            raise StartupError(
                "DEVPLANE_EXTERNAL_TOKEN_ENCRYPTION_KEYS is required with PostgreSQL. "
                "Create one with `devplane keys generate` and set it on every replica."
            )
        encoded = [_embedded_key(settings.data_dir)]
    try:
        return Keyring.from_config(encoded)
    except ValueError as exc:
        raise StartupError(f"{exc}. Create a valid key with `devplane keys generate`.") from exc


def _embedded_key(data_dir: Path) -> str:
    path = data_dir / KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    # O_EXCL + 0600 at creation: the key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(generate_key() + "\n")
    log.warning("generated an encryption key for secrets at rest; back it up", path=str(path))
    return path.read_text().strip()


async def check_keys(db: Database) -> None:
    async with db.transaction() as tx:
        store = tx.system("check encryption keys")
        try:
            await store.ensure_keys(dt.datetime.now(dt.UTC))
        except KeyCheckError as exc:
            raise StartupError(str(exc)) from exc
