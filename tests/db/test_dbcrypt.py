"""The crypt store, startup key checks and rotation, proven on a table this test creates.

`test_secrets(id, value, value_key_id)` is made with raw SQL and registered as an encrypted
column for the test's duration, the way a real feature registers its columns.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import Text, Uuid, column, insert, select, table, text, update

from devplane.api.state import AppState
from devplane.config import Settings
from devplane.crypto.cipher import Cipher, generate_key, key_digest, parse_key
from devplane.crypto.keyring import Keyring
from devplane.db.crypt_store import TEST_PLAINTEXT
from devplane.db.database import Database
from devplane.db.encrypted import ENCRYPTED_COLUMNS, register, unregister
from devplane.db.rows import DBCryptKeyRow, EncryptedColumn
from devplane.errors import Conflict, DecryptFailed, NotFound
from devplane.sdk.client import Client
from devplane.services import dbcrypt
from devplane.services.keys import KEY_FILE, StartupError, check_keys, load_keyring
from tests.factories import OWNER_PASSWORD

COLUMN = EncryptedColumn("test_secrets", "value")
T = table("test_secrets", column("id", Uuid), column("value", Text), column("value_key_id", Text))
NAME = "test_secrets.value"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
async def secrets_table(state: AppState) -> AsyncIterator[EncryptedColumn]:
    id_type = "uuid" if state.db.dialect == "postgresql" else "CHAR(32)"  # how sa.Uuid stores on each
    async with state.db.engine.begin() as conn:
        await conn.execute(
            text(
                f"CREATE TABLE test_secrets (id {id_type} PRIMARY KEY, value TEXT NOT NULL DEFAULT '', "
                "value_key_id TEXT NULL REFERENCES dbcrypt_keys(active_key_digest))"
            )
        )
    register(COLUMN)
    try:
        yield COLUMN
    finally:
        unregister(COLUMN)
        async with state.db.engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS test_secrets"))


@asynccontextmanager
async def keyed(settings: Settings, *keys: str) -> AsyncIterator[Database]:
    """The test database opened with another key list (what a restart with new keys does)."""
    db = Database(settings.database_url, Keyring.from_config(keys))
    try:
        yield db
    finally:
        await db.dispose()


async def put(db: Database, plaintext: str, row_id: uuid.UUID | None = None) -> uuid.UUID:
    row_id = row_id or uuid.uuid4()
    async with db.transaction() as tx:
        sealed = tx.system("test: seal a value").seal(COLUMN, row_id, plaintext)
        await tx.session.execute(insert(T).values(id=row_id, value=sealed.value, value_key_id=sealed.key_id))
    return row_id


async def raw(db: Database, row_id: uuid.UUID) -> tuple[str, str | None]:
    async with db.session() as tx:
        row = (await tx.session.execute(select(T.c.value, T.c.value_key_id).where(T.c.id == row_id))).one()
    return row[0], row[1]


async def get(db: Database, row_id: uuid.UUID) -> str:
    value, key_id = await raw(db, row_id)
    async with db.session() as tx:
        return tx.system("test: open a value").open(COLUMN, row_id, value, key_id)


async def key_ids(db: Database) -> list[str | None]:
    async with db.session() as tx:
        return list((await tx.session.execute(select(T.c.value_key_id).order_by(T.c.id))).scalars())


@pytest.mark.usefixtures("secrets_table")
async def test_round_trip_and_binding_to_the_row(state: AppState) -> None:
    db = state.db
    a = await put(db, "alpha-secret")
    b = await put(db, "beta-secret")
    empty = await put(db, "")
    assert await get(db, a) == "alpha-secret"
    assert await raw(db, empty) == ("", None)
    value_a, key_a = await raw(db, a)
    assert "alpha" not in value_a
    assert len(base64.b64decode(value_a)) == 12 + len("alpha-secret") + 16  # nonce + ciphertext + tag
    assert value_a != (await raw(db, await put(db, "alpha-secret")))[0], "nonces must be random"
    async with db.transaction() as tx:  # copy a's ciphertext into b's row
        await tx.session.execute(update(T).where(T.c.id == b).values(value=value_a, value_key_id=key_a))
    with pytest.raises(DecryptFailed):
        await get(db, b)
    tampered = value_a[:-6] + ("AAAAAA" if not value_a.endswith("AAAAAA") else "BBBBBB")
    async with db.transaction() as tx:
        await tx.session.execute(update(T).where(T.c.id == a).values(value=tampered))
    with pytest.raises(DecryptFailed) as exc:
        await get(db, a)
    assert "test_secrets.value" in exc.value.message


@pytest.mark.usefixtures("secrets_table")
async def test_key_id_is_seven_hex_of_sha256(state: AppState, settings: Settings) -> None:
    key = parse_key(settings.external_token_encryption_keys[0])
    digest = hashlib.sha256(b"aes256gcm" + key).hexdigest()[:7]
    assert re.fullmatch(r"[0-9a-f]{7}", digest)
    assert key_digest(key) == Cipher(key).digest == digest
    row_id = await put(state.db, "value")
    assert (await raw(state.db, row_id))[1] == digest
    async with state.db.session() as tx:
        keys = await tx.system("test: list keys").get_dbcrypt_keys()
    assert [(k.number, k.active_key_digest, k.revoked_key_digest) for k in keys] == [(1, digest, None)]
    assert Cipher(key).decrypt(keys[0].test, "dbcrypt_keys.test.1") == TEST_PLAINTEXT


@pytest.mark.usefixtures("secrets_table")
async def test_unknown_or_missing_key_is_decrypt_failed_never_empty(state: AppState, settings: Settings) -> None:
    row_id = await put(state.db, "needs-the-old-key")
    async with keyed(settings, generate_key()) as other:
        with pytest.raises(DecryptFailed) as exc:
            await get(other, row_id)
        assert "no cipher with digest" in (exc.value.detail or "")
        async with other.session() as tx:
            with pytest.raises(DecryptFailed):
                tx.system("test: open").open(COLUMN, row_id, "whatever", "abcdef0")


async def test_check_keys_rejects_wrong_key_material(state: AppState, settings: Settings) -> None:
    impostor = parse_key(generate_key())
    right_digest_wrong_test = Cipher(parse_key(generate_key())).encrypt(TEST_PLAINTEXT, "dbcrypt_keys.test.2")
    async with state.db.transaction() as tx:
        await tx.system("test: plant a bad key row").insert_dbcrypt_key(
            DBCryptKeyRow(2, key_digest(impostor), None, now(), None, right_digest_wrong_test)
        )
    encoded = base64.b64encode(impostor).decode()
    async with keyed(settings, encoded) as db:
        with pytest.raises(StartupError, match="does not decrypt its test value"):
            await check_keys(db)


@pytest.mark.usefixtures("secrets_table")
async def test_rotate_reencrypts_in_batches_then_revokes(state: AppState, settings: Settings) -> None:
    old = settings.external_token_encryption_keys[0]
    plain = {await put(state.db, f"secret-{n}"): f"secret-{n}" for n in range(5)}
    new = generate_key()
    calls: list[tuple[str, int, int]] = []
    async with keyed(settings, new, old) as db:
        await check_keys(db)
        result = await dbcrypt.rotate(db, batch_size=2, progress=lambda *a: calls.append(a))
        assert result.reencrypted[NAME] == 5
        assert result.revoked == [key_digest(parse_key(old))]
        assert [c for c in calls if c[0] == NAME] == [(NAME, 0, 5), (NAME, 2, 5), (NAME, 4, 5), (NAME, 5, 5)]
        assert set(result.reencrypted) == {f"{c.table}.{c.column}" for c in ENCRYPTED_COLUMNS}
        assert await key_ids(db) == [key_digest(parse_key(new))] * 5
        again = await dbcrypt.rotate(db, batch_size=2)
        assert again.revoked == []
        assert set(again.reencrypted.values()) == {0}
    async with keyed(settings, new) as only_new:
        for row_id, value in plain.items():
            assert await get(only_new, row_id) == value
        keys = await dbcrypt.key_status(only_new)
    assert [(k.active_key_digest, k.revoked_key_digest) for k in keys] == [
        (None, key_digest(parse_key(old))),
        (key_digest(parse_key(new)), None),
    ]
    # A restart with the revoked key (as primary or as a spare) refuses to start.
    for key_list in ((old,), (new, old)):
        async with keyed(settings, *key_list) as db:
            with pytest.raises(StartupError, match="revoked"):
                await check_keys(db)


@pytest.mark.usefixtures("secrets_table")
async def test_interrupted_rotation_resumes_without_loss(state: AppState, settings: Settings) -> None:
    old = settings.external_token_encryption_keys[0]
    plain = {await put(state.db, f"v{n}"): f"v{n}" for n in range(5)}
    new = generate_key()
    new_digest = key_digest(parse_key(new))
    async with keyed(settings, new, old) as db:
        await check_keys(db)
        async with db.transaction() as tx:  # one batch, then the "crash"
            assert await tx.system("test: one rotation batch").reencrypt_batch(COLUMN, 2) == 2
        assert sorted(await key_ids(db), key=str) == sorted([new_digest] * 2 + [key_digest(parse_key(old))] * 3)
        for row_id, value in plain.items():
            assert await get(db, row_id) == value
        result = await dbcrypt.rotate(db, batch_size=2)
        assert result.reencrypted[NAME] == 3
        assert await key_ids(db) == [new_digest] * 5
        for row_id, value in plain.items():
            assert await get(db, row_id) == value


@pytest.mark.usefixtures("secrets_table")
async def test_rotate_encrypts_values_written_before_any_key(state: AppState, settings: Settings) -> None:
    row_id = uuid.uuid4()
    async with state.db.transaction() as tx:  # a value stored while no key was configured
        await tx.session.execute(insert(T).values(id=row_id, value="was-plaintext", value_key_id=None))
    result = await dbcrypt.rotate(state.db, batch_size=10)
    assert result.reencrypted[NAME] == 1
    value, key_id = await raw(state.db, row_id)
    assert key_id == key_digest(parse_key(settings.external_token_encryption_keys[0]))
    assert "was-plaintext" not in value
    assert await get(state.db, row_id) == "was-plaintext"


@pytest.mark.usefixtures("secrets_table")
async def test_revoke_refuses_while_rows_use_the_key(state: AppState, settings: Settings) -> None:
    digest = key_digest(parse_key(settings.external_token_encryption_keys[0]))
    await put(state.db, "in-use")
    with pytest.raises(Conflict) as exc:
        await dbcrypt.revoke(state.db, digest)
    assert NAME in exc.value.message
    # The foreign key is the backstop when a caller skips the count.
    async with state.db.transaction() as tx:
        with pytest.raises(Conflict):
            await tx.system("test: revoke directly").inner.revoke_dbcrypt_key(digest, now())
    async with state.db.transaction() as tx:
        await tx.session.execute(text("DELETE FROM test_secrets"))
    revoked = await dbcrypt.revoke(state.db, digest)
    assert (revoked.active_key_digest, revoked.revoked_key_digest) == (None, digest)
    with pytest.raises(NotFound):
        await dbcrypt.revoke(state.db, digest)


async def test_sqlite_without_keys_generates_a_private_key_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", pg_url="", external_token_encryption_keys=[])
    first = load_keyring(settings)
    path = settings.data_dir / KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert first.digests == load_keyring(settings).digests, "a restart must reuse the generated key"
    db = Database(settings.database_url, first)
    try:
        await db.migrate()
        await check_keys(db)
        assert [k.active_key_digest for k in await dbcrypt.key_status(db)] == first.digests
    finally:
        await db.dispose()


def test_postgresql_without_keys_refuses_with_instructions(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, pg_url="postgresql://u@127.0.0.1/x", external_token_encryption_keys=[])
    with pytest.raises(StartupError, match="devplane keys generate"):
        load_keyring(settings)
    assert not (tmp_path / KEY_FILE).exists()


async def _pg_dump(db: Database) -> bytes:
    async with db.session() as tx:
        names = (
            await tx.session.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
        ).scalars()
        rows = [
            value
            for name in list(names)
            # Table names come from the catalog, not from input.
            for value in (await tx.session.execute(text(f'SELECT CAST(t AS text) FROM "{name}" t'))).scalars()  # noqa: S608
        ]
    return "\n".join(rows).encode()


@pytest.mark.usefixtures("secrets_table")
async def test_raw_database_holds_no_plaintext_or_token_secret(
    state: AppState, settings: Settings, owner: Client
) -> None:
    plaintext = f"plaintext-{uuid.uuid4().hex}"
    ciphertext, _ = await raw(state.db, await put(state.db, plaintext))
    api_key = await owner.create_api_key("me")
    needles = [plaintext, api_key.split("-")[1], (owner.token or "").split("-")[1], OWNER_PASSWORD]
    if state.db.dialect == "postgresql":
        dump = await _pg_dump(state.db)
    else:
        await state.db.dispose()  # close every connection so SQLite folds the WAL into the file
        dump = b"".join(p.read_bytes() for p in sorted(settings.data_dir.glob("devplane.db*")))
    assert ciphertext.encode() in dump, "the dump does not hold the stored data; wrong database?"
    assert api_key.split("-")[0].encode() in dump
    for needle in needles:
        assert needle.encode() not in dump, f"found a secret in the raw database: {needle[:4]}…"
