"""Authorization cases for the OAuth2 provider's Store methods (issue 12).

Apps, secrets and settings are deployment config (members: not found / forbidden; auditors
read; owners write); codes and refresh tokens belong to their user; consuming a code and
rotating or revoking a family are the system's (owners hold every permission).
Merged into CASES by tests/db/test_authz_store.py; seeded by `seed_oauth2` below.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from devplane.db.oauth2_rows import (
    OAuth2ProviderAppCodeRow,
    OAuth2ProviderAppRow,
    OAuth2ProviderAppSecretRow,
    OAuth2ProviderAppTokenRow,
    OAuth2ProviderSettingsRow,
)
from devplane.db.sql_store import SqlStore
from tests.db.authz_support import NOW, Case, World, allowed, forbidden, key_row, not_found


def x(w: World, name: str) -> Any:
    return w.extra[name]


def app_row(name: str = "app") -> OAuth2ProviderAppRow:
    return OAuth2ProviderAppRow(
        id=uuid.uuid4(),
        created_at=NOW,
        updated_at=NOW,
        name=name,
        redirect_uris=("http://127.0.0.1/cb",),
        token_endpoint_auth_method="none",
        dynamically_registered=False,
        registration_access_token_hash=None,
    )


def secret_row(app_id: uuid.UUID) -> OAuth2ProviderAppSecretRow:
    return OAuth2ProviderAppSecretRow(
        id=uuid.uuid4(), app_id=app_id, created_at=NOW, secret_prefix=uuid.uuid4().hex[:10], hashed_secret=b"h"
    )


def code_row(app_id: uuid.UUID, user_id: uuid.UUID) -> OAuth2ProviderAppCodeRow:
    return OAuth2ProviderAppCodeRow(
        id=uuid.uuid4(),
        created_at=NOW,
        expires_at=NOW + dt.timedelta(minutes=10),
        secret_prefix=uuid.uuid4().hex[:10],
        hashed_secret=b"h",
        user_id=user_id,
        app_id=app_id,
        redirect_uri="http://127.0.0.1/cb",
        resource_uri="http://devplane.test/api/experimental/mcp/gateway",
        code_challenge="c",
        code_challenge_method="S256",
        scope="mcp",
        used_at=None,
    )


def refresh_row(app_id: uuid.UUID, user_id: uuid.UUID, key_id: str) -> OAuth2ProviderAppTokenRow:
    return OAuth2ProviderAppTokenRow(
        id=uuid.uuid4(),
        created_at=NOW,
        expires_at=NOW + dt.timedelta(days=30),
        hash_prefix=uuid.uuid4().hex[:10],
        refresh_hash=b"h",
        app_id=app_id,
        user_id=user_id,
        api_key_id=key_id,
        audience="http://devplane.test/api/experimental/mcp/gateway",
        scope="mcp",
        family_id=uuid.uuid4(),
        rotated_at=None,
    )


async def seed_oauth2(sql: SqlStore, world: World) -> None:
    app = await sql.insert_oauth2_provider_app(app_row())
    world.extra["app"] = app
    world.extra["secret"] = await sql.insert_oauth2_provider_app_secret(secret_row(app.id))
    world.extra["my_code"] = await sql.insert_oauth2_provider_app_code(code_row(app.id, world.me))
    kind = "oauth2_provider_app"
    my_key = await sql.insert_api_key(dataclasses.replace(key_row(world.me), login_type=kind, oauth2_app_id=app.id))
    other_key = await sql.insert_api_key(
        dataclasses.replace(key_row(world.other), login_type=kind, oauth2_app_id=app.id)
    )
    world.extra["my_refresh"] = await sql.insert_oauth2_provider_app_token(refresh_row(app.id, world.me, my_key.id))
    world.extra["other_refresh"] = await sql.insert_oauth2_provider_app_token(
        refresh_row(app.id, world.other, other_key.id)
    )


def _fresh_code(w: World, user: uuid.UUID) -> OAuth2ProviderAppCodeRow:
    return dataclasses.replace(code_row(x(w, "app").id, user))


OAUTH2_CASES: dict[str, list[Case]] = {
    "get_oauth2_provider_settings": [
        not_found(lambda s, w: s.get_oauth2_provider_settings()),
        allowed(lambda s, w: s.get_oauth2_provider_settings(), actor="auditor"),
    ],
    "upsert_oauth2_provider_settings": [
        forbidden(lambda s, w: s.upsert_oauth2_provider_settings(OAuth2ProviderSettingsRow(True, NOW))),
        allowed(
            lambda s, w: s.upsert_oauth2_provider_settings(OAuth2ProviderSettingsRow(True, NOW)),
            actor="owner",
            check=lambda r, w: r.dynamic_client_registration,
        ),
    ],
    "insert_oauth2_provider_app": [
        forbidden(lambda s, w: s.insert_oauth2_provider_app(app_row("new"))),
        allowed(lambda s, w: s.insert_oauth2_provider_app(app_row("new")), actor="owner"),
    ],
    "get_oauth2_provider_app_by_id": [
        not_found(lambda s, w: s.get_oauth2_provider_app_by_id(x(w, "app").id)),
        allowed(lambda s, w: s.get_oauth2_provider_app_by_id(x(w, "app").id), actor="auditor"),
    ],
    "list_oauth2_provider_apps": [
        allowed(lambda s, w: s.list_oauth2_provider_apps(), check=lambda r, w: r == []),
        allowed(lambda s, w: s.list_oauth2_provider_apps(), actor="auditor", check=lambda r, w: len(r) == 1),
    ],
    "update_oauth2_provider_app": [
        forbidden(lambda s, w: s.update_oauth2_provider_app(dataclasses.replace(x(w, "app"), name="n"))),
        allowed(
            lambda s, w: s.update_oauth2_provider_app(dataclasses.replace(x(w, "app"), name="n")),
            actor="owner",
            check=lambda r, w: r.name == "n",
        ),
    ],
    "delete_oauth2_provider_app": [
        forbidden(lambda s, w: s.delete_oauth2_provider_app(x(w, "app").id), actor="auditor"),
        allowed(lambda s, w: s.delete_oauth2_provider_app(x(w, "app").id), actor="owner"),
    ],
    "insert_oauth2_provider_app_secret": [
        forbidden(lambda s, w: s.insert_oauth2_provider_app_secret(secret_row(x(w, "app").id))),
        allowed(lambda s, w: s.insert_oauth2_provider_app_secret(secret_row(x(w, "app").id)), actor="owner"),
    ],
    "get_oauth2_provider_app_secret_by_prefix": [
        not_found(lambda s, w: s.get_oauth2_provider_app_secret_by_prefix(x(w, "secret").secret_prefix)),
        allowed(lambda s, w: s.get_oauth2_provider_app_secret_by_prefix(x(w, "secret").secret_prefix), actor="auditor"),
    ],
    "list_oauth2_provider_app_secrets_by_app_id": [
        allowed(lambda s, w: s.list_oauth2_provider_app_secrets_by_app_id(x(w, "app").id), check=lambda r, w: r == []),
        allowed(
            lambda s, w: s.list_oauth2_provider_app_secrets_by_app_id(x(w, "app").id),
            actor="owner",
            check=lambda r, w: len(r) == 1,
        ),
    ],
    "delete_oauth2_provider_app_secret": [
        forbidden(lambda s, w: s.delete_oauth2_provider_app_secret(x(w, "secret").id)),
        allowed(lambda s, w: s.delete_oauth2_provider_app_secret(x(w, "secret").id), actor="owner"),
    ],
    "insert_oauth2_provider_app_code": [
        allowed(lambda s, w: s.insert_oauth2_provider_app_code(_fresh_code(w, w.me))),
        not_found(lambda s, w: s.insert_oauth2_provider_app_code(_fresh_code(w, w.other))),
    ],
    "consume_oauth2_provider_app_code": [
        forbidden(lambda s, w: s.consume_oauth2_provider_app_code(x(w, "my_code").secret_prefix, NOW)),
        allowed(
            lambda s, w: s.consume_oauth2_provider_app_code(x(w, "my_code").secret_prefix, NOW),
            actor="owner",
            check=lambda r, w: r[1] is True,
        ),
    ],
    "insert_oauth2_provider_app_token": [
        not_found(
            lambda s, w: s.insert_oauth2_provider_app_token(
                refresh_row(x(w, "app").id, w.other, x(w, "other_refresh").api_key_id)
            )
        ),
        allowed(
            lambda s, w: s.insert_oauth2_provider_app_token(
                refresh_row(x(w, "app").id, w.me, x(w, "my_refresh").api_key_id)
            )
        ),
    ],
    "get_oauth2_provider_app_token_by_prefix": [
        allowed(lambda s, w: s.get_oauth2_provider_app_token_by_prefix(x(w, "my_refresh").hash_prefix)),
        not_found(lambda s, w: s.get_oauth2_provider_app_token_by_prefix(x(w, "other_refresh").hash_prefix)),
    ],
    "mark_oauth2_provider_app_token_rotated": [
        forbidden(lambda s, w: s.mark_oauth2_provider_app_token_rotated(x(w, "my_refresh").id, NOW)),
        allowed(
            lambda s, w: s.mark_oauth2_provider_app_token_rotated(x(w, "my_refresh").id, NOW),
            actor="owner",
            check=lambda r, w: r is True,
        ),
    ],
    "delete_oauth2_provider_app_token_family": [
        forbidden(lambda s, w: s.delete_oauth2_provider_app_token_family(x(w, "my_refresh").family_id)),
        allowed(
            lambda s, w: s.delete_oauth2_provider_app_token_family(x(w, "my_refresh").family_id),
            actor="owner",
            check=lambda r, w: r == 1,
        ),
    ],
    "list_oauth2_provider_app_tokens_by_user_id": [
        allowed(lambda s, w: s.list_oauth2_provider_app_tokens_by_user_id(w.me), check=lambda r, w: len(r) == 1),
        allowed(lambda s, w: s.list_oauth2_provider_app_tokens_by_user_id(w.other), check=lambda r, w: r == []),
    ],
    "delete_oauth2_provider_app_grants": [
        allowed(lambda s, w: s.delete_oauth2_provider_app_grants(x(w, "app").id, w.me), check=lambda r, w: r == 1),
        not_found(lambda s, w: s.delete_oauth2_provider_app_grants(x(w, "app").id, w.other)),
    ],
}
