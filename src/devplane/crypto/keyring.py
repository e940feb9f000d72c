"""Primary cipher plus decrypt-only ciphers, looked up by digest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from devplane.crypto.cipher import Cipher, CipherError, parse_key


@dataclass(frozen=True)
class Keyring:
    ciphers: tuple[Cipher, ...]

    @classmethod
    def from_config(cls, encoded_keys: Sequence[str]) -> Keyring:
        ciphers: list[Cipher] = []
        for index, encoded in enumerate(encoded_keys):
            try:
                ciphers.append(Cipher(parse_key(encoded)))
            except ValueError as exc:
                raise ValueError(f"external token encryption key #{index + 1}: {exc}") from exc
        digests = [c.digest for c in ciphers]
        if len(set(digests)) != len(digests):
            raise ValueError("external token encryption keys contain a duplicate")
        return cls(tuple(ciphers))

    @property
    def primary(self) -> Cipher | None:
        return self.ciphers[0] if self.ciphers else None

    @property
    def digests(self) -> list[str]:
        return [c.digest for c in self.ciphers]

    def by_digest(self, digest: str) -> Cipher:
        for cipher in self.ciphers:
            if cipher.digest == digest:
                return cipher
        raise CipherError(f"no cipher with digest {digest}: the key was not supplied or was revoked")

    def __repr__(self) -> str:
        return f"Keyring(digests={self.digests})"
