"""OAuth2 provider secrets (client secrets, codes, refresh and registration tokens):
`devplane_<10-char prefix>_<40-char secret>`, alphanumeric, from `secrets`.

The prefix is the lookup key; only sha256(secret) is stored and it is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from devplane.crypto.tokens import random_string

PREFIX = "devplane"
PREFIX_LENGTH = 10
SECRET_LENGTH = 40


@dataclass(frozen=True)
class OAuth2Secret:
    prefix: str
    secret: str = field(repr=False)

    @property
    def formatted(self) -> str:
        return f"{PREFIX}_{self.prefix}_{self.secret}"

    @property
    def hashed(self) -> bytes:
        return hash_secret(self.secret)


def generate() -> OAuth2Secret:
    return OAuth2Secret(random_string(PREFIX_LENGTH), random_string(SECRET_LENGTH))


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse(value: str) -> OAuth2Secret | None:
    """The prefix and secret of a well-formed value, else None."""
    parts = value.split("_")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    prefix, secret = parts[1], parts[2]
    if len(prefix) != PREFIX_LENGTH or len(secret) != SECRET_LENGTH:
        return None
    if not (prefix.isascii() and prefix.isalnum() and secret.isascii() and secret.isalnum()):
        return None
    return OAuth2Secret(prefix, secret)


def verify(secret: str, hashed: bytes) -> bool:
    return hmac.compare_digest(hash_secret(secret), hashed)
