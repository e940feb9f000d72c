"""Password hashing (argon2id) and the strength rules, with messages that say what to fix."""

from __future__ import annotations

import asyncio
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)

MIN_LENGTH = 8
MAX_LENGTH = 256
# A known hash for a random password, verified against when the user does not exist so that
# a login for an unknown account costs as much as one for a known account.
_DUMMY_HASH = _hasher.hash("devplane-dummy-password-for-timing")


def check_strength(password: str) -> str | None:
    """Return a message when the password is too weak, None when acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Password must be at most {MAX_LENGTH} characters."
    classes = [
        any(c in string.ascii_lowercase for c in password),
        any(c in string.ascii_uppercase for c in password),
        any(c in string.digits for c in password),
        any(not c.isalnum() for c in password),
    ]
    if sum(classes) < 2:
        return "Password must mix at least two of: lowercase, uppercase, digits, symbols."
    if len(set(password)) < 4:
        return "Password must use at least 4 different characters."
    return None


def use_fast_hashing_for_tests() -> None:
    """Cheap argon2 parameters, for test suites only: hashes stay valid argon2id, just weak."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _DUMMY_HASH = _hasher.hash("devplane-dummy-password-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    try:
        return _hasher.verify(hashed or _DUMMY_HASH, password) and hashed is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# The KDF is deliberately slow CPU work: run it off the event loop so one login cannot stall
# every other request (the MCP gateway's calls included).
async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(hashed: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, hashed, password)
