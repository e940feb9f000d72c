"""CryptStore passes non-secret methods through `__getattr__`; prove every Store method resolves
on the assembled stack, and that the secret-bearing ones are really overridden."""

from __future__ import annotations

import inspect

from devplane.authz.authorizer import Subject
from devplane.crypto.keyring import Keyring
from devplane.db.authz_store import AuthzStore
from devplane.db.crypt_store import CryptStore
from devplane.db.store import NON_QUERY_METHODS, Store

# Methods whose rows carry encrypted fields: CryptStore must define them itself.
SECRET_BEARING = {
    name
    for name in dir(Store)
    if "mcp_server_config" in name or "mcp_server_user_token" in name or "mcp_oauth2_state" in name
} - {
    "delete_mcp_server_config",
    "delete_mcp_server_user_token",
    "delete_expired_mcp_oauth2_states",
    "mark_mcp_server_user_token_refresh_failure",
}


def _protocol_methods() -> list[str]:
    return [
        name
        for name, member in inspect.getmembers(Store, predicate=inspect.isfunction)
        if not name.startswith("_") and name not in NON_QUERY_METHODS
    ]


def test_every_store_method_resolves_through_the_crypt_layer() -> None:
    stack = CryptStore(AuthzStore(object(), Subject(user_id=None, roles=())), Keyring(()))  # type: ignore[arg-type]
    missing = [name for name in _protocol_methods() if not callable(getattr(stack, name, None))]
    assert missing == []


def test_secret_bearing_methods_are_overridden_by_the_crypt_store() -> None:
    assert SECRET_BEARING, "the secret-bearing method list must not be empty"
    not_overridden = sorted(
        name
        for name in SECRET_BEARING
        if name not in vars(CryptStore) and not any(name in vars(base) for base in CryptStore.__mro__[1:-1])
    )
    assert not_overridden == []
