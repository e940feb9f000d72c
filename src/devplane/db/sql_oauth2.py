"""SQL for the OAuth2 provider (mixed into SqlStore)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devplane.db import oauth2_models as om
from devplane.db.models import APIKey
from devplane.db.oauth2_rows import (
    OAuth2ProviderAppCodeRow,
    OAuth2ProviderAppRow,
    OAuth2ProviderAppSecretRow,
    OAuth2ProviderAppTokenRow,
    OAuth2ProviderSettingsRow,
)
from devplane.errors import Conflict, NotFound


def _values(row: Any, model: type[Any]) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in model.__table__.columns}


def _app(o: om.OAuth2ProviderApp) -> OAuth2ProviderAppRow:
    values = _values(o, om.OAuth2ProviderApp)
    values["redirect_uris"] = tuple(o.redirect_uris)
    return OAuth2ProviderAppRow(**values)


def _secret(o: om.OAuth2ProviderAppSecret) -> OAuth2ProviderAppSecretRow:
    return OAuth2ProviderAppSecretRow(**_values(o, om.OAuth2ProviderAppSecret))


def _code(o: om.OAuth2ProviderAppCode) -> OAuth2ProviderAppCodeRow:
    return OAuth2ProviderAppCodeRow(**_values(o, om.OAuth2ProviderAppCode))


def _token(o: om.OAuth2ProviderAppToken) -> OAuth2ProviderAppTokenRow:
    return OAuth2ProviderAppTokenRow(**_values(o, om.OAuth2ProviderAppToken))


class SqlOAuth2Queries:
    session: AsyncSession

    async def _add(self, obj: Any, what: str) -> None:
        self.session.add(obj)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise Conflict(f"{what} conflicts with an existing one.") from exc

    # --- settings ----------------------------------------------------------------------------
    async def get_oauth2_provider_settings(self) -> OAuth2ProviderSettingsRow:
        obj = await self.session.get(om.OAuth2ProviderSettings, 1)
        if obj is None:
            return OAuth2ProviderSettingsRow(dynamic_client_registration=False, updated_at=None)
        return OAuth2ProviderSettingsRow(obj.dynamic_client_registration, obj.updated_at)

    async def upsert_oauth2_provider_settings(self, row: OAuth2ProviderSettingsRow) -> OAuth2ProviderSettingsRow:
        at = row.updated_at or dt.datetime.now(dt.UTC)
        obj = await self.session.get(om.OAuth2ProviderSettings, 1)
        if obj is None:
            obj = om.OAuth2ProviderSettings(id=1, dynamic_client_registration=row.dynamic_client_registration)
            self.session.add(obj)
        obj.dynamic_client_registration = row.dynamic_client_registration
        obj.updated_at = at
        await self.session.flush()
        return OAuth2ProviderSettingsRow(obj.dynamic_client_registration, obj.updated_at)

    # --- apps --------------------------------------------------------------------------------
    async def insert_oauth2_provider_app(self, row: OAuth2ProviderAppRow) -> OAuth2ProviderAppRow:
        values = _values(row, om.OAuth2ProviderApp)
        values["redirect_uris"] = list(row.redirect_uris)
        obj = om.OAuth2ProviderApp(**values)
        await self._add(obj, "The OAuth2 app")
        return _app(obj)

    async def get_oauth2_provider_app_by_id(self, app_id: uuid.UUID) -> OAuth2ProviderAppRow:
        obj = await self.session.get(om.OAuth2ProviderApp, app_id)
        if obj is None:
            raise NotFound("OAuth2 app not found.")
        return _app(obj)

    async def list_oauth2_provider_apps(self) -> list[OAuth2ProviderAppRow]:
        t = om.OAuth2ProviderApp
        return [_app(o) for o in (await self.session.execute(select(t).order_by(t.created_at, t.id))).scalars()]

    async def update_oauth2_provider_app(self, row: OAuth2ProviderAppRow) -> OAuth2ProviderAppRow:
        obj = await self.session.get(om.OAuth2ProviderApp, row.id)
        if obj is None:
            raise NotFound("OAuth2 app not found.")
        obj.name = row.name
        obj.redirect_uris = list(row.redirect_uris)
        obj.token_endpoint_auth_method = row.token_endpoint_auth_method
        obj.updated_at = row.updated_at
        await self.session.flush()
        return _app(obj)

    async def delete_oauth2_provider_app(self, app_id: uuid.UUID) -> None:
        # Its access tokens are API keys: delete them explicitly too (SQLite cascades only with
        # the foreign_keys pragma, and this keeps the session's identity map consistent).
        await self.session.execute(delete(APIKey).where(APIKey.oauth2_app_id == app_id))
        result = await self.session.execute(delete(om.OAuth2ProviderApp).where(om.OAuth2ProviderApp.id == app_id))
        if getattr(result, "rowcount", 0) == 0:
            raise NotFound("OAuth2 app not found.")

    # --- secrets -----------------------------------------------------------------------------
    async def insert_oauth2_provider_app_secret(self, row: OAuth2ProviderAppSecretRow) -> OAuth2ProviderAppSecretRow:
        obj = om.OAuth2ProviderAppSecret(**_values(row, om.OAuth2ProviderAppSecret))
        await self._add(obj, "The client secret")
        return _secret(obj)

    async def get_oauth2_provider_app_secret_by_prefix(self, prefix: str) -> OAuth2ProviderAppSecretRow:
        t = om.OAuth2ProviderAppSecret
        obj = (await self.session.execute(select(t).where(t.secret_prefix == prefix))).scalar_one_or_none()
        if obj is None:
            raise NotFound("Client secret not found.")
        return _secret(obj)

    async def list_oauth2_provider_app_secrets_by_app_id(self, app_id: uuid.UUID) -> list[OAuth2ProviderAppSecretRow]:
        t = om.OAuth2ProviderAppSecret
        stmt = select(t).where(t.app_id == app_id).order_by(t.created_at, t.id)
        return [_secret(o) for o in (await self.session.execute(stmt)).scalars()]

    async def delete_oauth2_provider_app_secret(self, secret_id: uuid.UUID) -> None:
        t = om.OAuth2ProviderAppSecret
        result = await self.session.execute(delete(t).where(t.id == secret_id))
        if getattr(result, "rowcount", 0) == 0:
            raise NotFound("Client secret not found.")

    # --- codes -------------------------------------------------------------------------------
    async def insert_oauth2_provider_app_code(self, row: OAuth2ProviderAppCodeRow) -> OAuth2ProviderAppCodeRow:
        obj = om.OAuth2ProviderAppCode(**_values(row, om.OAuth2ProviderAppCode))
        await self._add(obj, "The authorization code")
        return _code(obj)

    async def consume_oauth2_provider_app_code(
        self, prefix: str, at: dt.datetime
    ) -> tuple[OAuth2ProviderAppCodeRow, bool]:
        t = om.OAuth2ProviderAppCode
        obj = (await self.session.execute(select(t).where(t.secret_prefix == prefix))).scalar_one_or_none()
        if obj is None:
            raise NotFound("Authorization code not found.")
        row = _code(obj)
        # Compare-and-set: of two concurrent exchanges exactly one sees its update apply.
        result = await self.session.execute(
            update(t)
            .where(t.id == row.id, t.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        return row, getattr(result, "rowcount", 0) == 1

    # --- refresh tokens ----------------------------------------------------------------------
    async def insert_oauth2_provider_app_token(self, row: OAuth2ProviderAppTokenRow) -> OAuth2ProviderAppTokenRow:
        obj = om.OAuth2ProviderAppToken(**_values(row, om.OAuth2ProviderAppToken))
        await self._add(obj, "The refresh token")
        return _token(obj)

    async def get_oauth2_provider_app_token_by_prefix(self, prefix: str) -> OAuth2ProviderAppTokenRow:
        t = om.OAuth2ProviderAppToken
        obj = (await self.session.execute(select(t).where(t.hash_prefix == prefix))).scalar_one_or_none()
        if obj is None:
            raise NotFound("Refresh token not found.")
        return _token(obj)

    async def mark_oauth2_provider_app_token_rotated(self, token_id: uuid.UUID, at: dt.datetime) -> bool:
        t = om.OAuth2ProviderAppToken
        result = await self.session.execute(
            update(t)
            .where(t.id == token_id, t.rotated_at.is_(None))
            .values(rotated_at=at)
            .execution_options(synchronize_session=False)
        )
        return getattr(result, "rowcount", 0) == 1

    async def delete_oauth2_provider_app_token_family(self, family_id: uuid.UUID) -> int:
        t = om.OAuth2ProviderAppToken
        keys = list((await self.session.execute(select(t.api_key_id).where(t.family_id == family_id))).scalars())
        result = await self.session.execute(delete(t).where(t.family_id == family_id))
        if keys:
            await self.session.execute(delete(APIKey).where(APIKey.id.in_(keys)))
        return int(getattr(result, "rowcount", 0))

    async def list_oauth2_provider_app_tokens_by_user_id(self, user_id: uuid.UUID) -> list[OAuth2ProviderAppTokenRow]:
        t = om.OAuth2ProviderAppToken
        stmt = select(t).where(t.user_id == user_id).order_by(t.created_at.desc(), t.id)
        return [_token(o) for o in (await self.session.execute(stmt)).scalars()]

    async def delete_oauth2_provider_app_grants(self, app_id: uuid.UUID, user_id: uuid.UUID) -> int:
        for model in (om.OAuth2ProviderAppToken, om.OAuth2ProviderAppCode):
            await self.session.execute(delete(model).where(model.app_id == app_id, model.user_id == user_id))
        result = await self.session.execute(
            delete(APIKey).where(APIKey.oauth2_app_id == app_id, APIKey.user_id == user_id)
        )
        return int(getattr(result, "rowcount", 0))
