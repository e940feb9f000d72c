"""API key / session token format: `<10-char id>-<22-char secret>`, alphanumeric, CSPRNG.

Only sha256(secret) is stored; comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass, field

ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 10
SECRET_LENGTH = 22


def random_string(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class GeneratedToken:
    key_id: str
    secret: str = field(repr=False)

    @property
    def token(self) -> str:
        return f"{self.key_id}-{self.secret}"

    @property
    def hashed_secret(self) -> bytes:
        return hash_secret(self.secret)


def generate() -> GeneratedToken:
    return GeneratedToken(random_string(ID_LENGTH), random_string(SECRET_LENGTH))


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split(token: str) -> tuple[str, str] | None:
    """Return (id, secret) when the token is well formed, else None."""
    parts = token.split("-")
    if len(parts) != 2:
        return None
    key_id, secret = parts
    if len(key_id) != ID_LENGTH or len(secret) != SECRET_LENGTH:
        return None
    if not (key_id.isascii() and key_id.isalnum() and secret.isascii() and secret.isalnum()):
        return None
    return key_id, secret


def verify(secret: str, hashed: bytes) -> bool:
    return hmac.compare_digest(hash_secret(secret), hashed)
