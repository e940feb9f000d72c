"""Chat model providers, model configs, the picker, the system prompt, and a chat's model (issue 10)."""

from __future__ import annotations

import uuid

import pytest

from devplane.api.state import AppState
from devplane.db.chat_rows import PROVIDER_SECRETS
from devplane.sdk.chat_models import (
    ChatModelOptions,
    CreateChatModelConfigRequest,
    CreateChatProviderRequest,
    ProviderKind,
    UnavailableReason,
    UpdateChatModelConfigRequest,
    UpdateChatProviderRequest,
)
from devplane.sdk.chats import CreateChatMessageRequest, CreateChatRequest
from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.users import RoleName
from tests.api.conftest import Actor, MakeActor, assert_envelope, fields_named

EXP = "/api/experimental/chats"
SECRET_KEY = "sk-test-do-not-leak-4242"


async def _echo(owner: Client, *, default: bool = True) -> tuple[uuid.UUID, uuid.UUID]:
    provider = await owner.create_chat_provider(CreateChatProviderRequest(provider=ProviderKind.ECHO))
    model = await owner.create_chat_model_config(
        CreateChatModelConfigRequest(provider_id=provider.id, model="echo", context_limit=8192, is_default=default)
    )
    return provider.id, model.id


async def test_provider_crud_never_returns_the_key(owner: Client) -> None:
    created = await owner.create_chat_provider(
        CreateChatProviderRequest(provider=ProviderKind.OPENAI, display_name="OpenAI", api_key=SECRET_KEY)
    )
    assert created.has_api_key
    assert not created.is_test_provider
    assert created.enabled
    raw = await owner.http.get(f"{EXP}/providers", headers=owner.headers())
    assert SECRET_KEY not in raw.text
    assert 'api_key"' not in raw.text.replace("has_api_key", "")

    updated = await owner.update_chat_provider(created.id, UpdateChatProviderRequest(enabled=False, api_key=""))
    assert not updated.enabled
    assert not updated.has_api_key
    assert updated.display_name == "OpenAI"  # omitted: unchanged

    await owner.delete_chat_provider(created.id)
    assert await owner.chat_providers() == []
    with pytest.raises(DevplaneError) as err:
        await owner.delete_chat_provider(created.id)
    assert err.value.status_code == 404


async def test_duplicate_provider_is_409(owner: Client) -> None:
    await owner.create_chat_provider(CreateChatProviderRequest(provider=ProviderKind.ECHO))
    response = await owner.http.post(f"{EXP}/providers", json={"provider": "echo"}, headers=owner.headers())
    assert_envelope(response, 409)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "litellm"}, "provider"),
        ({"provider": "openai", "base_url": "ftp://x"}, "base_url"),
        ({"provider": "openai-compat"}, "base_url"),  # needs an endpoint
        ({"provider": "openai", "colour": "red"}, "colour"),
    ],
)
async def test_bad_provider_is_400_naming_the_field(owner: Client, body: dict[str, str], field: str) -> None:
    response = await owner.http.post(f"{EXP}/providers", json=body, headers=owner.headers())
    assert field in fields_named(assert_envelope(response, 400))


async def test_model_configs_single_default_and_soft_delete(owner: Client) -> None:
    provider_id, first = await _echo(owner)
    second = await owner.create_chat_model_config(
        CreateChatModelConfigRequest(
            provider_id=provider_id,
            model="echo-2",
            context_limit=100,
            is_default=True,
            options=ChatModelOptions(temperature=0.5, parallel_tool_calls=False),
        )
    )
    configs = {c.id: c for c in await owner.chat_model_configs()}
    assert [c.is_default for c in (configs[first], configs[second.id])] == [False, True]
    assert configs[second.id].options == ChatModelOptions(temperature=0.5, parallel_tool_calls=False)
    assert configs[second.id].provider is ProviderKind.ECHO

    # A duplicate live provider+model is a 409.
    response = await owner.http.post(
        f"{EXP}/model-configs",
        json={"provider_id": str(provider_id), "model": "echo-2", "context_limit": 5},
        headers=owner.headers(),
    )
    assert_envelope(response, 409)

    # Deleting the default promotes the other enabled model; the deleted one is gone from lists.
    await owner.delete_chat_model_config(second.id)
    configs = {c.id: c for c in await owner.chat_model_configs()}
    assert set(configs) == {first}
    assert configs[first].is_default
    with pytest.raises(DevplaneError) as err:
        await owner.update_chat_model_config(second.id, UpdateChatModelConfigRequest(enabled=False))
    assert err.value.status_code == 404
    # ... and it may be added again.
    again = await owner.create_chat_model_config(
        CreateChatModelConfigRequest(provider_id=provider_id, model="echo-2", context_limit=100)
    )
    assert not again.is_default


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "m", "context_limit": 0}, "context_limit"),
        ({"model": "m", "context_limit": 10, "options": {"top_k": 3}}, "options.top_k"),
        ({"model": "m", "context_limit": 10, "options": {"temperature": 9}}, "options.temperature"),
        ({"model": "m", "context_limit": 10, "options": {"reasoning_effort": "max"}}, "options.reasoning_effort"),
        ({"model": "", "context_limit": 10}, "model"),
    ],
)
async def test_bad_model_config_is_400_naming_the_field(owner: Client, body: dict[str, object], field: str) -> None:
    provider = await owner.create_chat_provider(CreateChatProviderRequest(provider=ProviderKind.ECHO))
    response = await owner.http.post(
        f"{EXP}/model-configs", json={"provider_id": str(provider.id), **body}, headers=owner.headers()
    )
    assert field in fields_named(assert_envelope(response, 400))


async def test_unknown_provider_id_is_400(owner: Client) -> None:
    response = await owner.http.post(
        f"{EXP}/model-configs",
        json={"provider_id": str(uuid.uuid4()), "model": "m", "context_limit": 10},
        headers=owner.headers(),
    )
    assert "provider_id" in fields_named(assert_envelope(response, 400))


async def test_picker_catalog_for_members(owner: Client, member: Actor) -> None:
    await _echo(owner)
    openai = await owner.create_chat_provider(CreateChatProviderRequest(provider=ProviderKind.OPENAI))
    await owner.create_chat_model_config(
        CreateChatModelConfigRequest(provider_id=openai.id, model="gpt-x", context_limit=1000)
    )
    hidden = await owner.create_chat_model_config(
        CreateChatModelConfigRequest(provider_id=openai.id, model="gpt-off", context_limit=1000, enabled=False)
    )
    catalog = {p.provider: p for p in (await member.client.chat_models()).providers}
    assert set(catalog) == {ProviderKind.ECHO, ProviderKind.OPENAI}
    assert catalog[ProviderKind.ECHO].available
    assert catalog[ProviderKind.ECHO].is_test_provider
    assert catalog[ProviderKind.ECHO].models[0].is_default
    assert not catalog[ProviderKind.OPENAI].available
    assert catalog[ProviderKind.OPENAI].unavailable_reason is UnavailableReason.MISSING_API_KEY
    assert [m.model for m in catalog[ProviderKind.OPENAI].models] == ["gpt-x"]
    assert hidden.id not in {m.id for p in catalog.values() for m in p.models}

    await owner.update_chat_provider(openai.id, UpdateChatProviderRequest(api_key=SECRET_KEY, enabled=False))
    catalog = {p.provider: p for p in (await member.client.chat_models()).providers}
    assert catalog[ProviderKind.OPENAI].unavailable_reason is UnavailableReason.PROVIDER_DISABLED
    await owner.update_chat_provider(openai.id, UpdateChatProviderRequest(enabled=True))
    catalog = {p.provider: p for p in (await member.client.chat_models()).providers}
    assert catalog[ProviderKind.OPENAI].available


@pytest.mark.parametrize("roles", [(), (RoleName.AUDITOR,)])
async def test_non_owners_cannot_write(make_actor: MakeActor, owner: Client, roles: tuple[RoleName, ...]) -> None:
    provider_id, model_id = await _echo(owner)
    actor = await make_actor(*roles)
    headers = actor.client.headers()
    http = actor.client.http
    for response in (
        await http.post(f"{EXP}/providers", json={"provider": "openai"}, headers=headers),
        await http.post(f"{EXP}/providers", json={"nonsense": 1}, headers=headers),  # 403 before validation
        await http.patch(f"{EXP}/providers/{provider_id}", json={"enabled": False}, headers=headers),
        await http.delete(f"{EXP}/providers/{provider_id}", headers=headers),
        await http.post(f"{EXP}/model-configs", json={}, headers=headers),
        await http.patch(f"{EXP}/model-configs/{model_id}", json={"enabled": False}, headers=headers),
        await http.delete(f"{EXP}/model-configs/{model_id}", headers=headers),
        await http.put(f"{EXP}/config/system-prompt", json={"system_prompt": "x"}, headers=headers),
    ):
        assert_envelope(response, 403)
    reads = (
        await http.get(f"{EXP}/providers", headers=headers),
        await http.get(f"{EXP}/model-configs", headers=headers),
        await http.get(f"{EXP}/config/system-prompt", headers=headers),
    )
    if roles:  # auditors read the admin listings
        assert [r.status_code for r in reads] == [200, 200, 200]
        assert len(reads[0].json()) == 1
    else:
        for response in reads:
            assert_envelope(response, 403)


async def test_system_prompt_round_trip_and_audit(owner: Client) -> None:
    assert await owner.chat_system_prompt() == ""
    assert await owner.set_chat_system_prompt("You are terse.") == "You are terse."
    assert await owner.chat_system_prompt() == "You are terse."
    entries = (await owner.audit_logs("resource_type:chat_system_prompt")).audit_logs
    assert len(entries) == 1
    assert entries[0].diff["system_prompt"].new == "You are terse."


async def test_writes_are_audited_without_the_key(owner: Client) -> None:
    created = await owner.create_chat_provider(
        CreateChatProviderRequest(provider=ProviderKind.ANTHROPIC, api_key=SECRET_KEY)
    )
    await owner.update_chat_provider(created.id, UpdateChatProviderRequest(api_key=SECRET_KEY + "x"))
    model = await owner.create_chat_model_config(
        CreateChatModelConfigRequest(provider_id=created.id, model="claude", context_limit=10)
    )
    await owner.delete_chat_model_config(model.id)
    await owner.delete_chat_provider(created.id)
    logs = (await owner.audit_logs("resource_type:chat_provider")).audit_logs
    assert sorted(e.action for e in logs) == ["create", "delete", "write"]
    assert all(SECRET_KEY not in str(e.diff) for e in logs)
    assert [e.diff["api_key"].secret for e in logs if e.action == "write"] == [True]
    models = (await owner.audit_logs("resource_type:chat_model_config")).audit_logs
    assert sorted(e.action for e in models) == ["create", "delete"]


async def test_api_key_is_encrypted_at_rest(owner: Client, state: AppState) -> None:
    created = await owner.create_chat_provider(
        CreateChatProviderRequest(provider=ProviderKind.OPENAI, api_key=SECRET_KEY)
    )
    async with state.db.session() as tx:
        raw = await tx.system("tests read raw ciphertext").inner.list_encrypted_values(
            PROVIDER_SECRETS["api_key"], not_key_id=None, limit=10
        )
        assert [v.row_id for v in raw] == [str(created.id)]
        assert raw[0].key_id
        assert SECRET_KEY not in raw[0].value
        plain = await tx.system("tests read the provider key").get_chat_provider_by_id(created.id)
        assert plain.api_key == SECRET_KEY


async def test_chat_model_at_creation_and_per_message(owner: Client, member: Actor) -> None:
    provider_id, default_id = await _echo(owner)
    other = await owner.create_chat_model_config(
        CreateChatModelConfigRequest(provider_id=provider_id, model="echo-b", context_limit=10)
    )
    chat = await member.client.create_chat(CreateChatRequest())
    assert chat.model_config_id == default_id  # absent: the default
    chosen = await member.client.create_chat(CreateChatRequest(model_config_id=other.id))
    assert chosen.model_config_id == other.id

    # nil means no change; a model id switches it.
    await member.client.create_chat_message(chat.id, CreateChatMessageRequest(content="hi"))
    assert (await member.client.chat(chat.id)).model_config_id == default_id
    await member.client.create_chat_message(chat.id, CreateChatMessageRequest(content="hi", model_config_id=other.id))
    assert (await member.client.chat(chat.id)).model_config_id == other.id

    # A disabled, deleted or unknown model is a 400 naming model_config_id, at creation and per message.
    await owner.update_chat_model_config(other.id, UpdateChatModelConfigRequest(enabled=False))
    deleted = await owner.create_chat_model_config(
        CreateChatModelConfigRequest(provider_id=provider_id, model="echo-c", context_limit=10)
    )
    await owner.delete_chat_model_config(deleted.id)
    for bad in (other.id, deleted.id, uuid.uuid4()):
        with pytest.raises(DevplaneError) as err:
            await member.client.create_chat(CreateChatRequest(model_config_id=bad))
        assert err.value.status_code == 400
        assert "model_config_id" in fields_named(err.value)
        with pytest.raises(DevplaneError) as err:
            await member.client.create_chat_message(chat.id, CreateChatMessageRequest(content="x", model_config_id=bad))
        assert err.value.status_code == 400
    # A disabled provider makes its models unusable too.
    await owner.update_chat_provider(provider_id, UpdateChatProviderRequest(enabled=False))
    with pytest.raises(DevplaneError) as err:
        await member.client.create_chat(CreateChatRequest(model_config_id=default_id))
    assert err.value.status_code == 400


async def test_deleting_a_provider_clears_chats_models(owner: Client, member: Actor) -> None:
    provider_id, default_id = await _echo(owner)
    chat = await member.client.create_chat(CreateChatRequest())
    assert chat.model_config_id == default_id
    await owner.delete_chat_provider(provider_id)
    assert (await member.client.chat(chat.id)).model_config_id is None
    assert await owner.chat_model_configs() == []
