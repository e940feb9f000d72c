"""Wire types for the chat loop's admin data: model providers, model configs, the picker catalog
and the deployment's system prompt.

A provider's API key appears only in request types; responses carry `has_api_key`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


class ProviderKind(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    OPENAI_COMPAT = "openai-compat"
    ECHO = "echo"


# Providers that cannot answer without a key; openai-compat servers (vLLM, Ollama) often need none.
KEYED_PROVIDERS = frozenset({ProviderKind.OPENAI, ProviderKind.ANTHROPIC})
# Built in for development and demos: answers with the user's text, no model account needed.
TEST_PROVIDERS = frozenset({ProviderKind.ECHO})
MAX_SYSTEM_PROMPT = 64 * 1024


def _optional_http_url(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    return value


def _api_key(value: str) -> str:
    value = value.strip()
    if any(c < " " or c > "~" for c in value):
        raise ValueError("the API key must be printable ASCII")  # never the value: it is a secret
    return value


BaseURL = Annotated[
    str,
    Field(max_length=2048, description="Blank: the provider's public endpoint. Required for openai-compat."),
    AfterValidator(_optional_http_url),
]
APIKey = Annotated[str, Field(max_length=8192, description='Write-only; "" clears it.'), AfterValidator(_api_key)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]
ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
ContextLimit = Annotated[int, Field(gt=0, le=100_000_000, description="The model's context window, in tokens.")]


class ChatProvider(BaseModel):
    id: uuid.UUID
    provider: ProviderKind
    display_name: str
    base_url: str
    enabled: bool
    has_api_key: bool = Field(description="Whether an API key is stored (the key itself is never returned).")
    is_test_provider: bool = Field(description="The built-in echo provider, for development and demos.")
    created_at: dt.datetime
    updated_at: dt.datetime


class CreateChatProviderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: ProviderKind = Field(description="One row per kind: a second one is a 409.")
    display_name: DisplayName = ""
    base_url: BaseURL = ""
    enabled: bool = True
    api_key: APIKey = ""


class UpdateChatProviderRequest(BaseModel):
    """Omitted fields keep their value."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    base_url: BaseURL | None = None
    enabled: bool | None = None
    api_key: APIKey | None = None


class ChatModelOptions(BaseModel):
    """Per-model call options; every key is optional and an unknown key is refused."""

    model_config = ConfigDict(extra="forbid")

    max_output_tokens: int | None = Field(None, gt=0, le=10_000_000)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    parallel_tool_calls: bool | None = Field(None, description="False asks the model for one tool call a step.")
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None


class ChatModelConfig(BaseModel):
    id: uuid.UUID
    provider_id: uuid.UUID
    provider: ProviderKind
    model: str
    display_name: str
    enabled: bool
    is_default: bool
    context_limit: int
    options: ChatModelOptions
    created_at: dt.datetime
    updated_at: dt.datetime


class CreateChatModelConfigRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_id: uuid.UUID
    model: ModelName = Field(description="The provider's model name, e.g. gpt-4.1 or claude-sonnet-4-5.")
    display_name: DisplayName = ""
    enabled: bool = True
    is_default: bool = Field(False, description="True makes this the default and unsets the previous one.")
    context_limit: ContextLimit
    options: ChatModelOptions = Field(default_factory=ChatModelOptions)


class UpdateChatModelConfigRequest(BaseModel):
    """Omitted fields keep their value; `options` replaces the whole set."""

    model_config = ConfigDict(extra="forbid")

    model: ModelName | None = None
    display_name: DisplayName | None = None
    enabled: bool | None = None
    is_default: bool | None = None
    context_limit: ContextLimit | None = None
    options: ChatModelOptions | None = None


class UnavailableReason(StrEnum):
    MISSING_API_KEY = "missing_api_key"
    PROVIDER_DISABLED = "provider_disabled"


class CatalogModel(BaseModel):
    id: uuid.UUID = Field(description="The model config id to pass as `model_config_id`.")
    model: str
    display_name: str
    is_default: bool
    context_limit: int


class CatalogProvider(BaseModel):
    provider: ProviderKind
    display_name: str
    is_test_provider: bool = Field(description="The built-in echo provider, for development and demos.")
    available: bool
    unavailable_reason: UnavailableReason | None = None
    models: list[CatalogModel]


class ChatModelCatalog(BaseModel):
    """The model picker: every provider with enabled models, and whether it can answer now."""

    providers: list[CatalogProvider]


class ChatSystemPrompt(BaseModel):
    system_prompt: str = Field(description="Sent first in every chat turn; blank: none.")


class UpdateChatSystemPromptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system_prompt: Annotated[str, StringConstraints(max_length=MAX_SYSTEM_PROMPT)]
