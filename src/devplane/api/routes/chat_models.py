"""Chat model providers, model configs, the model picker and the system prompt (experiment `agents`).

Included before the chats router: `/chats/providers` must not be taken for `/chats/{chat_id}`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends
from fastapi import status as http

from devplane.api.deps import Ctx, UserStore, require_experiment
from devplane.api.errors import ERROR_RESPONSES
from devplane.authz.authorizer import Object
from devplane.authz.policy import Action
from devplane.sdk.chat_models import (
    ChatModelCatalog,
    ChatModelConfig,
    ChatProvider,
    ChatSystemPrompt,
    CreateChatModelConfigRequest,
    CreateChatProviderRequest,
    UpdateChatModelConfigRequest,
    UpdateChatProviderRequest,
    UpdateChatSystemPromptRequest,
)
from devplane.sdk.errors import Response as Envelope
from devplane.services import chat_models as svc

router = APIRouter(
    prefix="/api/experimental/chats",
    tags=["Chat models"],
    responses=ERROR_RESPONSES,
    dependencies=[require_experiment("agents")],
)
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": Envelope}}


def _gate(action: Action, obj: Object, what: str) -> Sequence[Any]:
    # A dependency runs before the body is validated: non-admins get 403 whatever they send.
    async def check(store: UserStore) -> None:
        svc.require(store, action, obj, what)

    return [Depends(check)]


# --- providers -------------------------------------------------------------------------------------
@router.get("/providers", summary="List model providers (admins)")
async def list_providers(store: UserStore) -> list[ChatProvider]:
    return [svc.provider_view(p) for p in await svc.list_providers(store)]


@router.post(
    "/providers",
    status_code=http.HTTP_201_CREATED,
    summary="Register a model provider (admins)",
    responses=CONFLICT,
    dependencies=_gate(Action.CREATE, svc.PROVIDERS, "register model providers"),
)
async def create_provider(body: CreateChatProviderRequest, store: UserStore, ctx: Ctx) -> ChatProvider:
    return svc.provider_view(await svc.create_provider(store, ctx, body))


@router.patch(
    "/providers/{provider_id}",
    summary="Update a model provider (admins)",
    dependencies=_gate(Action.UPDATE, svc.PROVIDERS, "change model providers"),
)
async def update_provider(
    provider_id: uuid.UUID, body: UpdateChatProviderRequest, store: UserStore, ctx: Ctx
) -> ChatProvider:
    return svc.provider_view(await svc.update_provider(store, ctx, provider_id, body))


@router.delete(
    "/providers/{provider_id}",
    status_code=http.HTTP_204_NO_CONTENT,
    summary="Remove a model provider and its model configs (admins)",
    dependencies=_gate(Action.DELETE, svc.PROVIDERS, "remove model providers"),
)
async def delete_provider(provider_id: uuid.UUID, store: UserStore, ctx: Ctx) -> None:
    await svc.delete_provider(store, ctx, provider_id)


# --- model configs -----------------------------------------------------------------------------------
@router.get("/model-configs", summary="List model configs (admins)")
async def list_model_configs(store: UserStore) -> list[ChatModelConfig]:
    rows = await svc.list_models(store)
    providers = await svc.providers_by_id(store)
    return [svc.model_view(r, providers) for r in rows]


@router.post(
    "/model-configs",
    status_code=http.HTTP_201_CREATED,
    summary="Add a model config (admins)",
    responses=CONFLICT,
    dependencies=_gate(Action.CREATE, svc.MODELS, "add model configs"),
)
async def create_model_config(body: CreateChatModelConfigRequest, store: UserStore, ctx: Ctx) -> ChatModelConfig:
    row = await svc.create_model(store, ctx, body)
    return svc.model_view(row, await svc.providers_by_id(store))


@router.patch(
    "/model-configs/{config_id}",
    summary="Update a model config (admins)",
    responses=CONFLICT,
    dependencies=_gate(Action.UPDATE, svc.MODELS, "change model configs"),
)
async def update_model_config(
    config_id: uuid.UUID, body: UpdateChatModelConfigRequest, store: UserStore, ctx: Ctx
) -> ChatModelConfig:
    row = await svc.update_model(store, ctx, config_id, body)
    return svc.model_view(row, await svc.providers_by_id(store))


@router.delete(
    "/model-configs/{config_id}",
    status_code=http.HTTP_204_NO_CONTENT,
    summary="Remove a model config from the picker (admins)",
    dependencies=_gate(Action.DELETE, svc.MODELS, "remove model configs"),
)
async def delete_model_config(config_id: uuid.UUID, store: UserStore, ctx: Ctx) -> None:
    await svc.delete_model(store, ctx, config_id)


# --- picker and system prompt --------------------------------------------------------------------------
@router.get("/models", summary="The model picker: enabled models by provider, with availability")
async def list_models(store: UserStore) -> ChatModelCatalog:
    return await svc.catalog(store)


@router.get("/config/system-prompt", summary="Get the deployment's chat system prompt (admins)")
async def get_system_prompt(store: UserStore) -> ChatSystemPrompt:
    return ChatSystemPrompt(system_prompt=await svc.get_system_prompt(store))


@router.put(
    "/config/system-prompt",
    summary="Set the deployment's chat system prompt (admins)",
    dependencies=_gate(Action.UPDATE, svc.DEPLOYMENT, "change the system prompt"),
)
async def put_system_prompt(body: UpdateChatSystemPromptRequest, store: UserStore, ctx: Ctx) -> ChatSystemPrompt:
    return ChatSystemPrompt(system_prompt=await svc.set_system_prompt(store, ctx, body.system_prompt))
