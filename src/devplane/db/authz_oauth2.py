"""Authorization for the OAuth2 provider's Store methods.

Apps, their secrets and the provider settings are deployment configuration: owners write,
owners and auditors read; the token endpoint, consent page and DCR reach them as the system.
Codes and refresh tokens are credentials of their user (like API keys); consuming a code and
rotating or revoking a family happen only at the token endpoint, as the system.
"""

from __future__ import annotations

import datetime as dt
import uuid

from devplane.authz.authorizer import Object
from devplane.authz.policy import Action, Resource
from devplane.db.authz_base import SYSTEM, AuthzBase
from devplane.db.oauth2_rows import (
    DEPLOYMENT,
    OAuth2ProviderAppCodeRow,
    OAuth2ProviderAppRow,
    OAuth2ProviderAppSecretRow,
    OAuth2ProviderAppTokenRow,
    OAuth2ProviderSettingsRow,
)


class AuthzOAuth2(AuthzBase):
    async def get_oauth2_provider_settings(self) -> OAuth2ProviderSettingsRow:
        return await self._fetch(self.inner.get_oauth2_provider_settings)

    async def upsert_oauth2_provider_settings(self, row: OAuth2ProviderSettingsRow) -> OAuth2ProviderSettingsRow:
        return await self._site(Action.UPDATE, DEPLOYMENT, self.inner.upsert_oauth2_provider_settings, row)

    async def insert_oauth2_provider_app(self, row: OAuth2ProviderAppRow) -> OAuth2ProviderAppRow:
        return await self._site(Action.UPDATE, DEPLOYMENT, self.inner.insert_oauth2_provider_app, row)

    async def get_oauth2_provider_app_by_id(self, app_id: uuid.UUID) -> OAuth2ProviderAppRow:
        return await self._fetch(self.inner.get_oauth2_provider_app_by_id, app_id)

    async def list_oauth2_provider_apps(self) -> list[OAuth2ProviderAppRow]:
        return await self._filter(self.inner.list_oauth2_provider_apps)

    async def update_oauth2_provider_app(self, row: OAuth2ProviderAppRow) -> OAuth2ProviderAppRow:
        return await self._site(Action.UPDATE, DEPLOYMENT, self.inner.update_oauth2_provider_app, row)

    async def delete_oauth2_provider_app(self, app_id: uuid.UUID) -> None:
        return await self._site(Action.UPDATE, DEPLOYMENT, self.inner.delete_oauth2_provider_app, app_id)

    async def insert_oauth2_provider_app_secret(self, row: OAuth2ProviderAppSecretRow) -> OAuth2ProviderAppSecretRow:
        return await self._site(Action.UPDATE, DEPLOYMENT, self.inner.insert_oauth2_provider_app_secret, row)

    async def get_oauth2_provider_app_secret_by_prefix(self, prefix: str) -> OAuth2ProviderAppSecretRow:
        return await self._fetch(self.inner.get_oauth2_provider_app_secret_by_prefix, prefix)

    async def list_oauth2_provider_app_secrets_by_app_id(self, app_id: uuid.UUID) -> list[OAuth2ProviderAppSecretRow]:
        return await self._filter(self.inner.list_oauth2_provider_app_secrets_by_app_id, app_id)

    async def delete_oauth2_provider_app_secret(self, secret_id: uuid.UUID) -> None:
        return await self._site(Action.UPDATE, DEPLOYMENT, self.inner.delete_oauth2_provider_app_secret, secret_id)

    async def insert_oauth2_provider_app_code(self, row: OAuth2ProviderAppCodeRow) -> OAuth2ProviderAppCodeRow:
        return await self._write(Action.CREATE, row.authz_object(), self.inner.insert_oauth2_provider_app_code, row)

    async def consume_oauth2_provider_app_code(
        self, prefix: str, at: dt.datetime
    ) -> tuple[OAuth2ProviderAppCodeRow, bool]:
        return await self._site(Action.UPDATE, SYSTEM, self.inner.consume_oauth2_provider_app_code, prefix, at)

    async def insert_oauth2_provider_app_token(self, row: OAuth2ProviderAppTokenRow) -> OAuth2ProviderAppTokenRow:
        return await self._write(Action.CREATE, row.authz_object(), self.inner.insert_oauth2_provider_app_token, row)

    async def get_oauth2_provider_app_token_by_prefix(self, prefix: str) -> OAuth2ProviderAppTokenRow:
        return await self._fetch(self.inner.get_oauth2_provider_app_token_by_prefix, prefix)

    async def mark_oauth2_provider_app_token_rotated(self, token_id: uuid.UUID, at: dt.datetime) -> bool:
        return await self._site(Action.UPDATE, SYSTEM, self.inner.mark_oauth2_provider_app_token_rotated, token_id, at)

    async def delete_oauth2_provider_app_token_family(self, family_id: uuid.UUID) -> int:
        return await self._site(Action.DELETE, SYSTEM, self.inner.delete_oauth2_provider_app_token_family, family_id)

    async def list_oauth2_provider_app_tokens_by_user_id(self, user_id: uuid.UUID) -> list[OAuth2ProviderAppTokenRow]:
        return await self._filter(self.inner.list_oauth2_provider_app_tokens_by_user_id, user_id)

    async def delete_oauth2_provider_app_grants(self, app_id: uuid.UUID, user_id: uuid.UUID) -> int:
        owned = Object(Resource.API_KEY, owner_id=user_id)
        return await self._write(Action.DELETE, owned, self.inner.delete_oauth2_provider_app_grants, app_id, user_id)
