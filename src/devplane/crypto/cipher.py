"""AES-256-GCM field cipher (coder's dbcrypt cipher) with associated data binding.

Ciphertext is standard base64 of nonce || sealed bytes, so it is UTF-8 safe in a TEXT column.
The associated data binds a value to its table, column and row: a ciphertext copied into
another row fails to decrypt instead of silently moving a secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class CipherError(Exception):
    """Decryption failed: wrong key, tampered data, or data bound to another row."""


def key_digest(key: bytes) -> str:
    """The 7-hex-char key id stored in every `*_key_id` column."""
    return hashlib.sha256(b"aes256gcm" + key).hexdigest()[:7]


def parse_key(encoded: str) -> bytes:
    """Decode one base64 key from configuration, with a message that says what to fix."""
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("encryption key is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise ValueError(f"encryption key must decode to {KEY_BYTES} bytes, got {len(key)}")
    return key


def generate_key() -> str:
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


@dataclass(frozen=True)
class Cipher:
    key: bytes = field(repr=False)

    @property
    def digest(self) -> str:
        return key_digest(self.key)

    def encrypt(self, plaintext: str, aad: str = "") -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, plaintext.encode(), aad.encode() or None)
        return base64.b64encode(nonce + sealed).decode()

    def decrypt(self, ciphertext: str, aad: str = "") -> str:
        try:
            raw = base64.b64decode(ciphertext, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CipherError("ciphertext is not valid base64") from exc
        if len(raw) < NONCE_BYTES + 16:
            raise CipherError("ciphertext is too short")
        try:
            return AESGCM(self.key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad.encode() or None).decode()
        except InvalidTag as exc:
            raise CipherError("authentication failed (wrong key, tampered, or moved value)") from exc
