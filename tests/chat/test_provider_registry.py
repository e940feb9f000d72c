"""make_client: the provider name → wire mapping, and the configuration errors it refuses."""

from __future__ import annotations

import pytest

from devplane.chat.provider import ProviderError
from devplane.chat.providers.anthropic_messages import AnthropicMessagesClient
from devplane.chat.providers.echo import EchoClient
from devplane.chat.providers.openai_chat import OpenAIChatClient
from devplane.chat.providers.registry import make_client
from tests.chat.provider_helpers import request, run, serve, text
from tests.fixtures.model_server import FakeModelServer, Reply

server = pytest.fixture(scope="module")(serve)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("key", [None, ""])
def test_a_missing_key_is_a_missing_key_error(provider: str, key: str | None) -> None:
    with pytest.raises(ProviderError) as info:
        make_client(provider, api_key=key, base_url=None)
    assert (info.value.kind, info.value.retryable, info.value.provider) == ("missing_key", False, provider)


def test_openai_compat_needs_a_base_url_not_a_key() -> None:
    with pytest.raises(ProviderError) as info:
        make_client("openai-compat", api_key="k", base_url=None)
    assert info.value.kind == "config"
    assert "base_url" in info.value.message


def test_an_unknown_provider_is_a_config_error() -> None:
    with pytest.raises(ProviderError) as info:
        make_client("bedrock", api_key="k", base_url=None)
    assert info.value.kind == "config"


async def test_each_provider_gets_its_wire() -> None:
    built = [
        make_client("openai", api_key="k", base_url=None),
        make_client("anthropic", api_key="k", base_url=None),
        make_client("openai-compat", api_key=None, base_url="http://127.0.0.1:1/v1"),
        make_client("echo", api_key=None, base_url=None),
    ]
    assert [type(c) for c in built] == [OpenAIChatClient, AnthropicMessagesClient, OpenAIChatClient, EchoClient]
    assert [c.provider for c in built] == ["openai", "anthropic", "openai-compat", "echo"]
    for client in built:
        await client.aclose()


async def test_a_keyless_openai_compat_server_is_reached(server: FakeModelServer) -> None:
    server.reset()
    server.openai.enqueue(Reply(text="local model says hi"))
    client = make_client("openai-compat", api_key=None, base_url=server.openai.base_url, timeout=10)
    assert text(await run(client, request())) == "local model says hi"
    assert len(server.openai.requests) == 1


async def test_the_server_environment_does_not_redirect_a_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    openai_client = make_client("openai", api_key="k", base_url=None)
    anthropic_client = make_client("anthropic", api_key="k", base_url=None)
    try:
        assert isinstance(openai_client, OpenAIChatClient)
        assert isinstance(anthropic_client, AnthropicMessagesClient)
        assert str(openai_client.base_url) == "https://api.openai.com/v1/"
        assert str(anthropic_client.base_url) == "https://api.anthropic.com"
    finally:
        await openai_client.aclose()
        await anthropic_client.aclose()
