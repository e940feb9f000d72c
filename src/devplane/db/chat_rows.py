"""Row types for the chat loop's admin data: providers (with their encrypted API key) and model configs."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from devplane.authz.authorizer import Object
from devplane.authz.policy import Resource
from devplane.db.encrypted import register
from devplane.db.rows import EncryptedColumn

# The sixth secret field: rotation and revocation checks find it through this registration.
PROVIDER_SECRETS = {"api_key": register(EncryptedColumn("chat_providers", "api_key"))}

# Keys of chat_settings.
SYSTEM_PROMPT_KEY = "system_prompt"


@dataclass(frozen=True)
class ChatProviderRow:
    id: uuid.UUID
    provider: str  # openai | anthropic | openai-compat | echo
    display_name: str
    base_url: str
    enabled: bool
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    # Plaintext above the crypt store, ciphertext below it. Never in repr.
    api_key: str = field(default="", repr=False)
    api_key_key_id: str | None = field(default=None, repr=False)

    def authz_object(self) -> Object:
        return Object(Resource.CHAT_PROVIDER)


@dataclass(frozen=True)
class ChatModelConfigRow:
    id: uuid.UUID
    provider_id: uuid.UUID
    model: str
    display_name: str
    enabled: bool
    is_default: bool
    context_limit: int
    options: dict[str, Any]
    created_by: uuid.UUID | None
    updated_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None

    @property
    def live(self) -> bool:
        return self.deleted_at is None

    def authz_object(self) -> Object:
        return Object(Resource.CHAT_MODEL_CONFIG)


@dataclass(frozen=True)
class ChatQueuedMessageRow:
    id: uuid.UUID
    chat_id: uuid.UUID
    content: tuple[dict[str, Any], ...]
    created_at: dt.datetime
    owner_id: uuid.UUID  # denormalised from the chat, for authorization

    def authz_object(self) -> Object:
        return Object(Resource.CHAT, owner_id=self.owner_id)
