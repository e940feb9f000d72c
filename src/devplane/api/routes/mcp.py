"""Admin-managed MCP server configurations (experiment `agents`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from fastapi import status as http

from devplane.api.deps import Ctx, CurrentAuth, UserStore, require_experiment
from devplane.api.errors import ERROR_RESPONSES
from devplane.sdk.errors import Response as Envelope
from devplane.sdk.mcp import CreateMCPServerConfigRequest, MCPServerConfig, UpdateMCPServerConfigRequest
from devplane.services import mcp_configs

router = APIRouter(
    prefix="/api/experimental/mcp/servers",
    tags=["MCP servers"],
    responses=ERROR_RESPONSES,
    dependencies=[require_experiment("agents")],
)


async def _admin_write(store: UserStore) -> None:
    # A dependency runs before the body is validated: non-admins get 403 whatever they send.
    mcp_configs.require_write(store)


ADMIN_WRITE = [Depends(_admin_write)]


async def _one(store: UserStore, current: CurrentAuth, config_id: uuid.UUID) -> MCPServerConfig:
    row = await mcp_configs.get_visible(store, config_id)
    return (await mcp_configs.views(store, current.user.id, [row]))[0]


@router.get("", summary="List MCP server configs (members: enabled ones, redacted)")
async def list_servers(store: UserStore, current: CurrentAuth) -> list[MCPServerConfig]:
    return await mcp_configs.views(store, current.user.id, await mcp_configs.list_visible(store))


@router.post(
    "",
    status_code=http.HTTP_201_CREATED,
    summary="Register an MCP server (admins)",
    responses={409: {"model": Envelope}},
    dependencies=ADMIN_WRITE,
)
async def create_server(
    body: CreateMCPServerConfigRequest, store: UserStore, ctx: Ctx, current: CurrentAuth
) -> MCPServerConfig:
    row = await mcp_configs.create(store, ctx, body)
    return (await mcp_configs.views(store, current.user.id, [row]))[0]


@router.get("/{server_id}", summary="Get an MCP server config")
async def get_server(server_id: uuid.UUID, store: UserStore, current: CurrentAuth) -> MCPServerConfig:
    return await _one(store, current, server_id)


@router.patch(
    "/{server_id}",
    summary="Update an MCP server config (admins)",
    responses={409: {"model": Envelope}},
    dependencies=ADMIN_WRITE,
)
async def update_server(
    server_id: uuid.UUID, body: UpdateMCPServerConfigRequest, store: UserStore, ctx: Ctx, current: CurrentAuth
) -> MCPServerConfig:
    row = await mcp_configs.update(store, ctx, server_id, body)
    return (await mcp_configs.views(store, current.user.id, [row]))[0]


@router.delete(
    "/{server_id}",
    status_code=http.HTTP_204_NO_CONTENT,
    summary="Delete an MCP server config (admins)",
    dependencies=ADMIN_WRITE,
)
async def delete_server(server_id: uuid.UUID, store: UserStore, ctx: Ctx) -> None:
    await mcp_configs.delete(store, ctx, server_id)
