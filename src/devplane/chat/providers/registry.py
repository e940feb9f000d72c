"""Build the ModelClient for a provider config: the one place that maps a provider name to a wire."""

from __future__ import annotations

from devplane.chat.provider import ModelClient, ProviderError
from devplane.chat.providers.anthropic_messages import AnthropicMessagesClient
from devplane.chat.providers.echo import EchoClient
from devplane.chat.providers.openai_chat import OpenAIChatClient

PROVIDERS = ("openai", "anthropic", "openai-compat", "echo")


def make_client(provider: str, *, api_key: str | None, base_url: str | None, timeout: float = 600.0) -> ModelClient:
    """A client for `provider`; ProviderError(kind=missing_key|config) when it cannot be built.

    openai-compat needs a base_url and no key (local servers such as Ollama have none); openai and
    anthropic need a key; a base_url for them points at a gateway speaking their API.
    """
    if provider == "echo":
        return EchoClient()
    if provider in ("openai", "anthropic") and not api_key:
        raise ProviderError(
            f"{provider}: no API key is configured for this provider",
            kind="missing_key",
            provider=provider,
            retryable=False,
        )
    if provider == "openai":
        return OpenAIChatClient(provider="openai", api_key=api_key, base_url=base_url or None, timeout=timeout)
    if provider == "anthropic" and api_key:  # api_key: checked above, repeated for the type
        return AnthropicMessagesClient(api_key=api_key, base_url=base_url or None, timeout=timeout)
    if provider == "openai-compat":
        if not base_url:
            raise ProviderError(
                "openai-compat: a base_url is required (the Chat Completions endpoint's /v1 URL)",
                kind="config",
                provider=provider,
                retryable=False,
            )
        return OpenAIChatClient(provider="openai-compat", api_key=api_key, base_url=base_url, timeout=timeout)
    raise ProviderError(
        f"unknown provider {provider!r} (one of {', '.join(PROVIDERS)})",
        kind="config",
        provider=provider,
        retryable=False,
    )
