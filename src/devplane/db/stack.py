"""The one place the store stack is assembled: CryptStore(AuthzStore(SqlStore(session), actor))."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devplane.authz.authorizer import Subject, system_subject
from devplane.crypto.keyring import Keyring
from devplane.db.authz_store import AuthzStore
from devplane.db.crypt_store import CryptStore
from devplane.db.sql_store import SqlStore


def crypt_stack(session: AsyncSession, actor: Subject, keyring: Keyring) -> CryptStore:
    return CryptStore(AuthzStore(SqlStore(session), actor), keyring)


def system_stack(session: AsyncSession, keyring: Keyring, reason: str) -> CryptStore:
    """For background work and CLI maintenance; `reason` is a literal that says why."""
    return crypt_stack(session, system_subject(reason), keyring)
