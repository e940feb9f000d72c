"""Chat model providers, model configs, the picker catalog and the system prompt (admins).

Writes need the resource's create/update/delete (owners); the admin listings need read (owners,
auditors). Members see models only through the catalog, read as the system.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from devplane.authz.authorizer import Object
from devplane.authz.policy import Action, Resource
from devplane.db.chat_rows import SYSTEM_PROMPT_KEY, ChatModelConfigRow, ChatProviderRow
from devplane.db.store import Store
from devplane.errors import BadRequest, FieldError, Forbidden, NotFound
from devplane.sdk.chat_models import (
    KEYED_PROVIDERS,
    TEST_PROVIDERS,
    CatalogModel,
    CatalogProvider,
    ChatModelCatalog,
    ChatModelConfig,
    ChatModelOptions,
    ChatProvider,
    CreateChatModelConfigRequest,
    CreateChatProviderRequest,
    ProviderKind,
    UnavailableReason,
    UpdateChatModelConfigRequest,
    UpdateChatProviderRequest,
)
from devplane.services import audit
from devplane.services.context import RequestContext
from devplane.services.users import can

PROVIDERS = Object(Resource.CHAT_PROVIDER)
MODELS = Object(Resource.CHAT_MODEL_CONFIG)
DEPLOYMENT = Object(Resource.DEPLOYMENT_CONFIG)
SECRET_FIELDS = ("api_key",)


def require(store: Store, action: Action, obj: Object, what: str) -> None:
    """Checked before anything is read, so a member gets 403 (not a 404 from the read)."""
    if not can(store, action, obj):
        raise Forbidden(f"Only administrators can {what}.")


# --- views ---------------------------------------------------------------------------------------
def provider_view(row: ChatProviderRow) -> ChatProvider:
    kind = ProviderKind(row.provider)
    return ChatProvider(
        id=row.id,
        provider=kind,
        display_name=row.display_name,
        base_url=row.base_url,
        enabled=row.enabled,
        has_api_key=bool(row.api_key),
        is_test_provider=kind in TEST_PROVIDERS,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def model_view(row: ChatModelConfigRow, providers: dict[uuid.UUID, ChatProviderRow]) -> ChatModelConfig:
    return ChatModelConfig(
        id=row.id,
        provider_id=row.provider_id,
        provider=ProviderKind(providers[row.provider_id].provider),
        model=row.model,
        display_name=row.display_name,
        enabled=row.enabled,
        is_default=row.is_default,
        context_limit=row.context_limit,
        options=ChatModelOptions.model_validate(row.options),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def unavailable_reason(provider: ChatProviderRow) -> UnavailableReason | None:
    if not provider.enabled:
        return UnavailableReason.PROVIDER_DISABLED
    if ProviderKind(provider.provider) in KEYED_PROVIDERS and not provider.api_key:
        return UnavailableReason.MISSING_API_KEY
    return None


def _provider_audit(row: ChatProviderRow) -> dict[str, Any]:
    return {
        "provider": row.provider,
        "display_name": row.display_name,
        "base_url": row.base_url,
        "enabled": row.enabled,
        "api_key": row.api_key or None,  # unset is None: a create without a key logs no change
    }


def _model_audit(row: ChatModelConfigRow) -> dict[str, Any]:
    data = dataclasses.asdict(row)
    for name in ("id", "created_at", "updated_at", "created_by", "updated_by"):
        data.pop(name)
    return data


# --- providers -----------------------------------------------------------------------------------
async def list_providers(store: Store) -> list[ChatProviderRow]:
    require(store, Action.READ, PROVIDERS, "list model providers")
    return await store.list_chat_providers()


def _check_provider(row: ChatProviderRow) -> None:
    if row.provider == ProviderKind.OPENAI_COMPAT and not row.base_url:
        raise BadRequest(
            "An openai-compat provider needs a base_url.",
            validations=[FieldError("base_url", "Required for openai-compat (the Chat Completions endpoint).")],
        )


async def create_provider(store: Store, ctx: RequestContext, req: CreateChatProviderRequest) -> ChatProviderRow:
    require(store, Action.CREATE, PROVIDERS, "register model providers")
    now = dt.datetime.now(dt.UTC)
    row = ChatProviderRow(
        id=uuid.uuid4(),
        provider=req.provider.value,
        display_name=req.display_name,
        base_url=req.base_url,
        enabled=req.enabled,
        created_by=ctx.user_id,
        created_at=now,
        updated_at=now,
        api_key=req.api_key,
    )
    _check_provider(row)
    stored = await store.insert_chat_provider(row)
    await audit.record(
        store,
        ctx,
        action="create",
        resource_type="chat_provider",
        resource_id=stored.id,
        target=stored.provider,
        status_code=201,
        changes=audit.diff(None, _provider_audit(stored), secret_fields=SECRET_FIELDS),
    )
    return stored


def _given(req: UpdateChatProviderRequest | UpdateChatModelConfigRequest) -> dict[str, Any]:
    given = {name: getattr(req, name) for name in req.model_fields_set}
    nulls = [name for name, value in given.items() if value is None]
    if nulls:
        raise BadRequest(
            "Fields may be omitted but not null.",
            validations=[FieldError(n, "Omit the field to keep its value.") for n in nulls],
        )
    return given


async def update_provider(
    store: Store, ctx: RequestContext, provider_id: uuid.UUID, req: UpdateChatProviderRequest
) -> ChatProviderRow:
    require(store, Action.UPDATE, PROVIDERS, "change model providers")
    given = _given(req)
    current = await store.get_chat_provider_by_id(provider_id, for_update=True)
    merged = dataclasses.replace(current, **given, updated_at=dt.datetime.now(dt.UTC))
    _check_provider(merged)
    stored = await store.update_chat_provider(merged)
    changes = audit.diff(_provider_audit(current), _provider_audit(stored), secret_fields=SECRET_FIELDS)
    if changes:
        await audit.record(
            store,
            ctx,
            action="write",
            resource_type="chat_provider",
            resource_id=stored.id,
            target=stored.provider,
            changes=changes,
        )
    return stored


async def delete_provider(store: Store, ctx: RequestContext, provider_id: uuid.UUID) -> None:
    require(store, Action.DELETE, PROVIDERS, "remove model providers")
    current = await store.get_chat_provider_by_id(provider_id, for_update=True)
    await store.delete_chat_provider(provider_id)
    await audit.record(
        store,
        ctx,
        action="delete",
        resource_type="chat_provider",
        resource_id=provider_id,
        target=current.provider,
        status_code=204,
        changes=audit.diff(_provider_audit(current), None, secret_fields=SECRET_FIELDS),
    )


# --- model configs ---------------------------------------------------------------------------------
async def providers_by_id(store: Store) -> dict[uuid.UUID, ChatProviderRow]:
    system = store.as_system(reason="name the provider of each model config")
    return {p.id: p for p in await system.list_chat_providers()}


async def list_models(store: Store) -> list[ChatModelConfigRow]:
    require(store, Action.READ, MODELS, "list model configs")
    return await store.list_chat_model_configs()


async def get_live_model(store: Store, config_id: uuid.UUID, *, for_update: bool = False) -> ChatModelConfigRow:
    row = await store.get_chat_model_config_by_id(config_id, for_update=for_update)
    if not row.live:
        raise NotFound("Model config not found.")
    return row


async def _provider_of(store: Store, provider_id: uuid.UUID) -> ChatProviderRow:
    try:
        return await store.as_system(reason="check a model config's provider").get_chat_provider_by_id(provider_id)
    except NotFound:
        raise BadRequest(
            "Unknown provider.", validations=[FieldError("provider_id", "Not a registered provider.")]
        ) from None


async def create_model(store: Store, ctx: RequestContext, req: CreateChatModelConfigRequest) -> ChatModelConfigRow:
    require(store, Action.CREATE, MODELS, "add model configs")
    await _provider_of(store, req.provider_id)
    now = dt.datetime.now(dt.UTC)
    row = ChatModelConfigRow(
        id=uuid.uuid4(),
        provider_id=req.provider_id,
        model=req.model,
        display_name=req.display_name or req.model,
        enabled=req.enabled,
        is_default=req.is_default,
        context_limit=req.context_limit,
        options=req.options.model_dump(exclude_none=True),
        created_by=ctx.user_id,
        updated_by=ctx.user_id,
        created_at=now,
        updated_at=now,
    )
    if row.is_default:
        await store.clear_chat_model_config_default()
    stored = await store.insert_chat_model_config(row)
    await audit.record(
        store,
        ctx,
        action="create",
        resource_type="chat_model_config",
        resource_id=stored.id,
        target=stored.model,
        status_code=201,
        changes=audit.diff(None, _model_audit(stored)),
    )
    return stored


async def update_model(
    store: Store, ctx: RequestContext, config_id: uuid.UUID, req: UpdateChatModelConfigRequest
) -> ChatModelConfigRow:
    require(store, Action.UPDATE, MODELS, "change model configs")
    given = _given(req)
    current = await get_live_model(store, config_id, for_update=True)
    if "options" in given:
        given["options"] = req.options.model_dump(exclude_none=True) if req.options else {}
    merged = dataclasses.replace(current, **given, updated_by=ctx.user_id, updated_at=dt.datetime.now(dt.UTC))
    if merged.is_default and not current.is_default:
        await store.clear_chat_model_config_default()
    stored = await store.update_chat_model_config(merged)
    changes = audit.diff(_model_audit(current), _model_audit(stored))
    if changes:
        await audit.record(
            store,
            ctx,
            action="write",
            resource_type="chat_model_config",
            resource_id=stored.id,
            target=stored.model,
            changes=changes,
        )
    return stored


async def delete_model(store: Store, ctx: RequestContext, config_id: uuid.UUID) -> None:
    """Soft delete: chats and messages keep naming it. Deleting the default promotes the first other
    enabled model (by display name), so new chats keep a default while one is configured."""
    require(store, Action.DELETE, MODELS, "remove model configs")
    current = await get_live_model(store, config_id, for_update=True)
    now = dt.datetime.now(dt.UTC)
    await store.update_chat_model_config(
        dataclasses.replace(current, is_default=False, deleted_at=now, updated_by=ctx.user_id, updated_at=now)
    )
    if current.is_default:
        heir = next((m for m in await store.list_chat_model_configs() if m.enabled), None)
        if heir is not None:
            await store.update_chat_model_config(dataclasses.replace(heir, is_default=True, updated_at=now))
    await audit.record(
        store,
        ctx,
        action="delete",
        resource_type="chat_model_config",
        resource_id=config_id,
        target=current.model,
        status_code=204,
        changes=audit.diff(_model_audit(current), None),
    )


# --- what chats may use ----------------------------------------------------------------------------
async def catalog(store: Store) -> ChatModelCatalog:
    """The picker for every signed-in user: enabled models grouped by provider, with availability."""
    system = store.as_system(reason="list the chat model picker for a user")
    providers = {p.id: p for p in await system.list_chat_providers()}
    grouped: dict[uuid.UUID, list[CatalogModel]] = {}
    for m in await system.list_chat_model_configs():
        if m.enabled and m.provider_id in providers:
            grouped.setdefault(m.provider_id, []).append(
                CatalogModel(
                    id=m.id,
                    model=m.model,
                    display_name=m.display_name,
                    is_default=m.is_default,
                    context_limit=m.context_limit,
                )
            )
    out = []
    for provider in sorted(providers.values(), key=lambda p: p.provider):
        if provider.id not in grouped:
            continue
        reason = unavailable_reason(provider)
        kind = ProviderKind(provider.provider)
        out.append(
            CatalogProvider(
                provider=kind,
                display_name=provider.display_name or kind.value,
                is_test_provider=kind in TEST_PROVIDERS,
                available=reason is None,
                unavailable_reason=reason,
                models=grouped[provider.id],
            )
        )
    return ChatModelCatalog(providers=out)


async def usable_model(store: Store, config_id: uuid.UUID, field: str = "model_config_id") -> ChatModelConfigRow:
    """A model a chat may be set to: live, enabled, its provider enabled and keyed. Else 400 naming `field`."""
    system = store.as_system(reason="check the model a chat asks for")
    try:
        row = await system.get_chat_model_config_by_id(config_id)
    except NotFound:
        row = None
    problem = None
    if row is None or not row.live:
        problem = "not a model config (unknown or deleted)"
    elif not row.enabled:
        problem = "this model is disabled"
    else:
        reason = unavailable_reason(await system.get_chat_provider_by_id(row.provider_id))
        if reason is not None:
            problem = f"this model's provider is unavailable ({reason.value})"
    if problem is not None or row is None:
        raise BadRequest("The chosen model cannot be used.", validations=[FieldError(field, problem or "")])
    return row


async def default_model_id(store: Store) -> uuid.UUID | None:
    system = store.as_system(reason="find the default chat model")
    return next((m.id for m in await system.list_chat_model_configs() if m.is_default and m.enabled), None)


# --- system prompt -----------------------------------------------------------------------------------
async def get_system_prompt(store: Store) -> str:
    require(store, Action.READ, DEPLOYMENT, "read the system prompt")
    return await store.get_chat_setting(SYSTEM_PROMPT_KEY)


async def set_system_prompt(store: Store, ctx: RequestContext, prompt: str) -> str:
    require(store, Action.UPDATE, DEPLOYMENT, "change the system prompt")
    current = await store.get_chat_setting(SYSTEM_PROMPT_KEY)
    await store.upsert_chat_setting(SYSTEM_PROMPT_KEY, prompt, dt.datetime.now(dt.UTC))
    changes = audit.diff({"system_prompt": current}, {"system_prompt": prompt})
    if changes:
        await audit.record(
            store,
            ctx,
            action="write",
            resource_type="chat_system_prompt",
            target=SYSTEM_PROMPT_KEY,
            changes=changes,
        )
    return prompt
