"""Provider kind -> ModelClient. A stand-in with only `echo`: the real factory (openai, anthropic,
openai-compat) comes with the provider adapters and replaces this module at merge."""

from __future__ import annotations

from devplane.chat.provider import ModelClient, ProviderError
from devplane.chat.providers.echo import EchoClient


def make_client(provider: str, *, api_key: str | None, base_url: str | None) -> ModelClient:
    if provider == "echo":
        return EchoClient()
    raise ProviderError(
        f"The {provider} provider is not available in this build.", kind="config", provider=provider, retryable=False
    )
