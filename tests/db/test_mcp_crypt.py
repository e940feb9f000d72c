"""The five MCP secret fields at rest: encrypted under the primary key, re-encrypted by rotation,
and bound to their table, column and row (issue 3)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update

from devplane.api.state import AppState
from devplane.config import Settings
from devplane.crypto.cipher import generate_key, key_digest, parse_key
from devplane.crypto.keyring import Keyring
from devplane.db import models as m
from devplane.db.database import Database
from devplane.db.mcp_rows import CONFIG_SECRETS, TOKEN_SECRETS
from devplane.db.rows import EncryptedColumn, EncryptedValue
from devplane.errors import DecryptFailed
from devplane.sdk.client import Client
from devplane.services import dbcrypt
from devplane.services.keys import StartupError, check_keys
from tests.api.mcp_support import (
    ACCESS_TOKEN,
    API_KEY,
    CLIENT_SECRET,
    HEADER_VALUE,
    REFRESH_TOKEN,
    api_key_body,
    headers_body,
    insert_token,
    oauth2_body,
    request,
)
from tests.conftest import TEST_KEY
from tests.factories import make_user

FIVE = [*CONFIG_SECRETS.values(), *TOKEN_SECRETS.values()]
CONFIGS, TOKENS = "mcp_server_configs", "mcp_server_user_tokens"


@dataclass
class World:
    oauth: uuid.UUID
    key: uuid.UUID
    headers: uuid.UUID
    token: uuid.UUID
    user: uuid.UUID


@pytest.fixture
async def world(owner: Client, state: AppState) -> World:
    oauth = await owner.create_mcp_server(request(oauth2_body()))
    key = await owner.create_mcp_server(request(api_key_body()))
    headers = await owner.create_mcp_server(request(headers_body(custom_headers={"X-Team": HEADER_VALUE})))
    me = await owner.me()
    token = await insert_token(state, oauth.id, me.id)
    return World(oauth=oauth.id, key=key.id, headers=headers.id, token=token.id, user=me.id)


@asynccontextmanager
async def opened(settings: Settings, *keys: str) -> AsyncIterator[Database]:
    """The test database opened with another key list, as a restart with new keys would."""
    db = Database(settings.database_url, Keyring.from_config(keys))
    try:
        await check_keys(db)
        yield db
    finally:
        await db.dispose()


async def raw_values(db: Database, column: EncryptedColumn) -> list[EncryptedValue]:
    async with db.session() as tx:
        store = tx.system("tests read raw ciphertext").inner
        return await store.list_encrypted_values(column, not_key_id=None, limit=1000)


async def plaintexts(db: Database, world: World) -> dict[str, str]:
    """The five fields as the crypt store decrypts them."""
    async with db.session() as tx:
        store = tx.system("tests read MCP secrets")
        oauth = await store.get_mcp_server_config_by_id(world.oauth)
        key = await store.get_mcp_server_config_by_id(world.key)
        headers = await store.get_mcp_server_config_by_id(world.headers)
        token = await store.get_mcp_server_user_token(world.oauth, world.user)
    return {
        "oauth2_client_secret": oauth.oauth2_client_secret,
        "api_key_value": key.api_key_value,
        "custom_headers": headers.custom_headers,
        "access_token": token.access_token,
        "refresh_token": token.refresh_token,
    }


ORIGINALS = {
    "oauth2_client_secret": CLIENT_SECRET,
    "api_key_value": API_KEY,
    "custom_headers": json.dumps({"X-Team": HEADER_VALUE}),
    "access_token": ACCESS_TOKEN,
    "refresh_token": REFRESH_TOKEN,
}


async def test_fields_are_encrypted_under_the_primary_key(state: AppState, world: World) -> None:
    digest = key_digest(parse_key(TEST_KEY))
    for column in FIVE:
        values = await raw_values(state.db, column)
        assert values, column
        for value in values:
            assert value.key_id == digest, column
            assert value.value not in ORIGINALS.values()
    # Values that are not set are stored empty with no key: nothing to decrypt or rotate.
    async with state.db.session() as tx:
        stored = await tx.system("tests read a config").inner.get_mcp_server_config_by_id(world.key)
    assert (stored.oauth2_client_secret, stored.oauth2_client_secret_key_id) == ("", None)
    assert await plaintexts(state.db, world) == ORIGINALS


async def test_rotation_reencrypts_all_five_fields(settings: Settings, state: AppState, world: World) -> None:
    old = key_digest(parse_key(TEST_KEY))
    new_key = generate_key()
    new = key_digest(parse_key(new_key))
    async with opened(settings, new_key, TEST_KEY) as db:
        result = await dbcrypt.rotate(db, batch_size=2)  # several batches per column
        assert result.revoked == [old]
        for column in FIVE:
            name = f"{column.table}.{column.column}"
            assert result.reencrypted[name] == len(await raw_values(db, column)) > 0, name
            assert {v.key_id for v in await raw_values(db, column)} == {new}, name
        assert await plaintexts(db, world) == ORIGINALS
        keys = await dbcrypt.key_status(db)
        assert {(k.active_key_digest, k.revoked_key_digest) for k in keys} == {(None, old), (new, None)}
        # Running it again is a no-op.
        again = await dbcrypt.rotate(db)
        assert sum(again.reencrypted.values()) == 0

    # The new key alone now reads everything; the old one is refused at start.
    async with opened(settings, new_key) as db:
        assert await plaintexts(db, world) == ORIGINALS
    with pytest.raises(StartupError, match="revoked"):
        async with opened(settings, TEST_KEY):
            pass


Place = tuple[str, uuid.UUID, str]  # (table, row id, column)


async def _copy(db: Database, source: Place, target: Place) -> None:
    """Copy a ciphertext and its key id, byte for byte, to another column or row."""
    (src_name, src_id, src_col), (dst_name, dst_id, dst_col) = source, target
    src, dst = m.Base.metadata.tables[src_name], m.Base.metadata.tables[dst_name]
    async with db.transaction() as tx:
        query = select(src.c[src_col], src.c[f"{src_col}_key_id"]).where(src.c.id == src_id)
        value, key_id = (await tx.session.execute(query)).one()
        await tx.session.execute(
            update(dst).where(dst.c.id == dst_id).values({dst_col: value, f"{dst_col}_key_id": key_id})
        )


async def test_ciphertext_moved_to_another_row_fails(owner: Client, state: AppState, world: World) -> None:
    other = await owner.create_mcp_server(request(api_key_body(api_key_value="other-key")))
    await _copy(state.db, (CONFIGS, world.key, "api_key_value"), (CONFIGS, other.id, "api_key_value"))
    async with state.db.session() as tx:
        store = tx.system("tests read moved ciphertext")
        with pytest.raises(DecryptFailed, match=r"mcp_server_configs\.api_key_value"):
            await store.get_mcp_server_config_by_id(other.id)
        # The source row is untouched and still reads.
        assert (await store.get_mcp_server_config_by_id(world.key)).api_key_value == API_KEY


async def test_ciphertext_moved_to_another_column_fails(state: AppState, world: World) -> None:
    await _copy(
        state.db,
        (CONFIGS, world.oauth, "oauth2_client_secret"),
        (CONFIGS, world.oauth, "api_key_value"),
    )
    await _copy(
        state.db,
        (TOKENS, world.token, "access_token"),
        (TOKENS, world.token, "refresh_token"),
    )
    async with state.db.session() as tx:
        store = tx.system("tests read moved ciphertext")
        with pytest.raises(DecryptFailed):
            await store.get_mcp_server_config_by_id(world.oauth)
        with pytest.raises(DecryptFailed, match="refresh_token"):
            await store.get_mcp_server_user_token(world.oauth, world.user)


async def test_ciphertext_moved_to_another_users_token_fails(owner: Client, state: AppState, world: World) -> None:
    other_user = await make_user(owner)
    other = await insert_token(state, world.oauth, other_user.id, refresh_token="theirs")
    await _copy(
        state.db,
        (TOKENS, world.token, "access_token"),
        (TOKENS, other.id, "access_token"),
    )
    async with state.db.session() as tx:
        store = tx.system("tests read moved ciphertext")
        with pytest.raises(DecryptFailed, match="access_token"):
            await store.get_mcp_server_user_token(world.oauth, other_user.id)
