"""Typed async client for the devplane API. Used by the CLI, the tests and scripts.

async with Client("http://127.0.0.1:3000", token) as client:
    me = await client.me()
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from devplane.sdk.audit import AuditLogsResponse
from devplane.sdk.chat_models import (  # chat loop (issue 10)
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
from devplane.sdk.chat_stream import ChatStreamEvent, parse_sse_lines
from devplane.sdk.chats import Chat, ChatMessage, CreateChatMessageRequest, CreateChatRequest
from devplane.sdk.deployment import BuildInfo, Experiment
from devplane.sdk.errors import DevplaneError, Response
from devplane.sdk.mcp import (
    CreateMCPServerConfigRequest,
    MCPOAuth2DisconnectResponse,
    MCPServerConfig,
    UpdateMCPServerConfigRequest,
)
from devplane.sdk.mcp_runtime import CallToolRequest, CallToolResponse, ChatTools, ServerTools
from devplane.sdk.mcp_tool_calls import MCPToolCallsResponse
from devplane.sdk.oauth2 import (
    AuthorizedOAuth2App,
    CreateOAuth2AppRequest,
    CreateOAuth2AppSecretResponse,
    OAuth2App,
    OAuth2AppSecret,
    OAuth2ProviderSettings,
    UpdateOAuth2ProviderSettingsRequest,
)
from devplane.sdk.users import (
    APIKey,
    CreateAPIKeyRequest,
    CreateAPIKeyResponse,
    CreateFirstUserRequest,
    CreateUserRequest,
    LoginRequest,
    LoginResponse,
    RoleName,
    UpdateRolesRequest,
    UpdateUserRequest,
    User,
)

T = TypeVar("T")
SESSION_HEADER = "Devplane-Session-Token"
EXP = "/api/experimental"
MCP = f"{EXP}/mcp"


class Client:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._http = httpx.AsyncClient(base_url=self.url, transport=transport, timeout=timeout)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying httpx client, for routes the SDK does not wrap yet."""
        return self._http

    def headers(self) -> dict[str, str]:
        return {SESSION_HEADER: self.token} if self.token else {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: BaseModel | Any = None,
        params: dict[str, Any] | None = None,
        expect: int | tuple[int, ...] = 200,
    ) -> httpx.Response:
        body = json.model_dump(mode="json", exclude_unset=True) if isinstance(json, BaseModel) else json
        response = await self._http.request(method, path, json=body, params=params, headers=self.headers())
        expected = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in expected:
            raise _error(response)
        return response

    async def _get(self, path: str, model: type[T], **kw: Any) -> T:
        return _parse(model, await self.request("GET", path, **kw))

    # --- general -------------------------------------------------------------------------
    async def buildinfo(self) -> BuildInfo:
        return await self._get("/api/v2/buildinfo", BuildInfo)

    async def experiments(self) -> list[Experiment]:
        return await self._get("/api/v2/experiments", list[Experiment])

    async def healthz(self) -> str:
        return (await self.request("GET", "/healthz")).text

    # --- users ---------------------------------------------------------------------------
    async def has_first_user(self) -> bool:
        response = await self.request("GET", "/api/v2/users/first", expect=(200, 404))
        return response.status_code == 200

    async def create_first_user(self, req: CreateFirstUserRequest) -> User:
        return _parse(User, await self.request("POST", "/api/v2/users/first", json=req, expect=201))

    async def login(self, req: LoginRequest) -> LoginResponse:
        """Log in; the returned token is also kept on this client."""
        result = _parse(LoginResponse, await self.request("POST", "/api/v2/users/login", json=req, expect=201))
        self.token = result.session_token
        self._http.cookies.clear()  # the header is authoritative for API clients
        return result

    async def logout(self) -> None:
        await self.request("POST", "/api/v2/users/logout")

    async def me(self) -> User:
        return await self._get("/api/v2/users/me", User)

    async def users(self) -> list[User]:
        return await self._get("/api/v2/users", list[User])

    async def user(self, ref: str | uuid.UUID) -> User:
        return await self._get(f"/api/v2/users/{ref}", User)

    async def create_user(self, req: CreateUserRequest) -> User:
        return _parse(User, await self.request("POST", "/api/v2/users", json=req, expect=201))

    async def update_user(self, ref: str | uuid.UUID, req: UpdateUserRequest) -> User:
        return _parse(User, await self.request("PATCH", f"/api/v2/users/{ref}", json=req))

    async def delete_user(self, ref: str | uuid.UUID) -> None:
        await self.request("DELETE", f"/api/v2/users/{ref}", expect=204)

    async def update_roles(self, ref: str | uuid.UUID, roles: list[RoleName]) -> User:
        req = UpdateRolesRequest(roles=roles)
        return _parse(User, await self.request("PUT", f"/api/v2/users/{ref}/roles", json=req))

    # --- API keys ------------------------------------------------------------------------
    async def create_api_key(self, ref: str | uuid.UUID, req: CreateAPIKeyRequest | None = None) -> str:
        response = await self.request(
            "POST", f"/api/v2/users/{ref}/keys", json=req or CreateAPIKeyRequest(), expect=201
        )
        return _parse(CreateAPIKeyResponse, response).key

    async def api_keys(self, ref: str | uuid.UUID) -> list[APIKey]:
        return await self._get(f"/api/v2/users/{ref}/keys", list[APIKey])

    async def delete_api_key(self, ref: str | uuid.UUID, key_id: str) -> None:
        await self.request("DELETE", f"/api/v2/users/{ref}/keys/{key_id}", expect=204)

    # --- audit ---------------------------------------------------------------------------
    async def audit_logs(self, q: str = "", *, limit: int = 50, offset: int = 0) -> AuditLogsResponse:
        return await self._get("/api/v2/audit", AuditLogsResponse, params={"q": q, "limit": limit, "offset": offset})

    # --- MCP server configs (experimental) -------------------------------------------------
    async def mcp_servers(self) -> list[MCPServerConfig]:
        return await self._get(f"{MCP}/servers", list[MCPServerConfig])

    async def mcp_server(self, server_id: uuid.UUID | str) -> MCPServerConfig:
        return await self._get(f"{MCP}/servers/{server_id}", MCPServerConfig)

    async def create_mcp_server(self, req: CreateMCPServerConfigRequest) -> MCPServerConfig:
        return _parse(MCPServerConfig, await self.request("POST", f"{MCP}/servers", json=req, expect=201))

    async def update_mcp_server(self, server_id: uuid.UUID | str, req: UpdateMCPServerConfigRequest) -> MCPServerConfig:
        return _parse(MCPServerConfig, await self.request("PATCH", f"{MCP}/servers/{server_id}", json=req))

    async def delete_mcp_server(self, server_id: uuid.UUID | str) -> None:
        await self.request("DELETE", f"{MCP}/servers/{server_id}", expect=204)

    def mcp_oauth2_connect_url(self, server_id: uuid.UUID | str) -> str:
        """The URL a browser opens to connect the user's account (it redirects to the provider)."""
        return f"{self.url}{MCP}/servers/{server_id}/oauth2/connect"

    async def mcp_oauth2_disconnect(self, server_id: uuid.UUID | str) -> MCPOAuth2DisconnectResponse:
        response = await self.request("DELETE", f"{MCP}/servers/{server_id}/oauth2/disconnect", expect=(200, 204))
        if response.status_code == 204 or not response.content:
            return MCPOAuth2DisconnectResponse(token_revoked=False)
        return _parse(MCPOAuth2DisconnectResponse, response)

    # --- chats (experimental) ----------------------------------------------------------------
    async def create_chat(self, req: CreateChatRequest | None = None) -> Chat:
        return _parse(Chat, await self.request("POST", f"{EXP}/chats", json=req or CreateChatRequest(), expect=201))

    async def chats(self) -> list[Chat]:
        return await self._get(f"{EXP}/chats", list[Chat])

    async def chat(self, chat_id: uuid.UUID | str) -> Chat:
        return await self._get(f"{EXP}/chats/{chat_id}", Chat)

    async def create_chat_message(self, chat_id: uuid.UUID | str, req: CreateChatMessageRequest) -> ChatMessage:
        return _parse(ChatMessage, await self.request("POST", f"{EXP}/chats/{chat_id}/messages", json=req, expect=201))

    async def chat_messages(self, chat_id: uuid.UUID | str) -> list[ChatMessage]:
        return await self._get(f"{EXP}/chats/{chat_id}/messages", list[ChatMessage])

    # --- MCP tool-call log and metrics (owners, auditors) --------------------------------------
    async def mcp_tool_calls(
        self,
        *,
        server_id: uuid.UUID | str | None = None,
        user_id: uuid.UUID | str | None = None,
        chat_id: uuid.UUID | str | None = None,
        tool: str | None = None,
        outcome: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> MCPToolCallsResponse:
        """The tool-call log, newest first; `count` is the total matching the filters."""
        filters: dict[str, Any] = {
            "server_id": server_id,
            "user_id": user_id,
            "chat_id": chat_id,
            "tool": tool,
            "outcome": outcome,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        }
        params = {k: str(v) for k, v in filters.items() if v is not None} | {"limit": limit, "offset": offset}
        return await self._get(f"{MCP}/tool-calls", MCPToolCallsResponse, params=params)

    async def metrics(self) -> str:
        """Prometheus text exposition of this replica's metrics."""
        return (await self.request("GET", "/api/v2/metrics")).text

    # --- MCP runtime: tool catalogs and calls (experimental) ------------------------------------
    async def chat_tools(self, chat_id: uuid.UUID | str, refresh: bool = False) -> ChatTools:
        """The tools the chat's agent may call (governed, `<slug>__<tool>`) and each server's status.

        `refresh=True` bypasses the server's tool cache.
        """
        params = {"refresh": "true"} if refresh else None
        return await self._get(f"{EXP}/chats/{chat_id}/tools", ChatTools, params=params)

    async def call_chat_tool(self, chat_id: uuid.UUID | str, req: CallToolRequest) -> CallToolResponse:
        """Call one of the chat's tools by its exposed name; an upstream tool error is `is_error`, not a 4xx."""
        return _parse(CallToolResponse, await self.request("POST", f"{EXP}/chats/{chat_id}/tools/call", json=req))

    async def mcp_server_tools(self, server_id: uuid.UUID | str, refresh: bool = False) -> ServerTools:
        """Admins: the upstream's raw tool list, which tools the allow/deny lists let through, and its status."""
        params = {"refresh": "true"} if refresh else None
        return await self._get(f"{MCP}/servers/{server_id}/tools", ServerTools, params=params)

    # --- OAuth2 provider (issue 12) ---------------------------------------------------------
    async def oauth2_provider_settings(self) -> OAuth2ProviderSettings:
        """The OAuth2 provider's stored settings (owners, auditors)."""
        return await self._get("/api/v2/oauth2-provider/settings", OAuth2ProviderSettings)

    async def put_oauth2_provider_settings(self, req: UpdateOAuth2ProviderSettingsRequest) -> OAuth2ProviderSettings:
        """Owners: switch dynamic client registration on or off."""
        resp = await self.request("PUT", "/api/v2/oauth2-provider/settings", json=req)
        return _parse(OAuth2ProviderSettings, resp)

    async def oauth2_apps(self) -> list[OAuth2App]:
        """Every registered OAuth2 client (owners, auditors)."""
        return _parse(list[OAuth2App], await self.request("GET", "/api/v2/oauth2-provider/apps"))

    async def create_oauth2_app(self, req: CreateOAuth2AppRequest) -> OAuth2App:
        """Owners: pre-register an OAuth2 client."""
        return _parse(OAuth2App, await self.request("POST", "/api/v2/oauth2-provider/apps", json=req, expect=201))

    async def delete_oauth2_app(self, app_id: uuid.UUID | str) -> None:
        """Owners: delete a client and every token issued to it."""
        await self.request("DELETE", f"/api/v2/oauth2-provider/apps/{app_id}", expect=204)

    async def create_oauth2_app_secret(self, app_id: uuid.UUID | str) -> CreateOAuth2AppSecretResponse:
        """Owners: a new client secret; its value is in the answer only."""
        resp = await self.request("POST", f"/api/v2/oauth2-provider/apps/{app_id}/secrets", expect=201)
        return _parse(CreateOAuth2AppSecretResponse, resp)

    async def oauth2_app_secrets(self, app_id: uuid.UUID | str) -> list[OAuth2AppSecret]:
        """A client's secrets, without their values."""
        resp = await self.request("GET", f"/api/v2/oauth2-provider/apps/{app_id}/secrets")
        return _parse(list[OAuth2AppSecret], resp)

    async def delete_oauth2_app_secret(self, app_id: uuid.UUID | str, secret_id: uuid.UUID | str) -> None:
        """Owners: delete a client secret."""
        await self.request("DELETE", f"/api/v2/oauth2-provider/apps/{app_id}/secrets/{secret_id}", expect=204)

    async def my_oauth2_apps(self) -> list[AuthorizedOAuth2App]:
        """The OAuth2 apps the signed-in user authorized."""
        return _parse(list[AuthorizedOAuth2App], await self.request("GET", "/api/v2/users/me/oauth2-apps"))

    async def revoke_my_oauth2_app(self, app_id: uuid.UUID | str) -> None:
        """Revoke every token the signed-in user granted this app."""
        await self.request("DELETE", f"/api/v2/users/me/oauth2-apps/{app_id}", expect=204)

    # --- chat loop: model providers, model configs, picker, system prompt (issue 10) ------------
    async def chat_providers(self) -> list[ChatProvider]:
        """Admins: every registered model provider (API keys are never returned)."""
        return await self._get(f"{EXP}/chats/providers", list[ChatProvider])

    async def create_chat_provider(self, req: CreateChatProviderRequest) -> ChatProvider:
        """Admins: register a provider; a second one of the same kind is a 409."""
        return _parse(ChatProvider, await self.request("POST", f"{EXP}/chats/providers", json=req, expect=201))

    async def update_chat_provider(self, provider_id: uuid.UUID | str, req: UpdateChatProviderRequest) -> ChatProvider:
        """Admins: change the fields given; `api_key=""` clears the key."""
        return _parse(ChatProvider, await self.request("PATCH", f"{EXP}/chats/providers/{provider_id}", json=req))

    async def delete_chat_provider(self, provider_id: uuid.UUID | str) -> None:
        """Admins: remove a provider and its model configs."""
        await self.request("DELETE", f"{EXP}/chats/providers/{provider_id}", expect=204)

    async def chat_model_configs(self) -> list[ChatModelConfig]:
        """Admins: the live model configs, disabled ones included."""
        return await self._get(f"{EXP}/chats/model-configs", list[ChatModelConfig])

    async def create_chat_model_config(self, req: CreateChatModelConfigRequest) -> ChatModelConfig:
        """Admins: offer a model; `is_default=True` moves the default to it."""
        return _parse(ChatModelConfig, await self.request("POST", f"{EXP}/chats/model-configs", json=req, expect=201))

    async def update_chat_model_config(
        self, config_id: uuid.UUID | str, req: UpdateChatModelConfigRequest
    ) -> ChatModelConfig:
        """Admins: change the fields given."""
        return _parse(ChatModelConfig, await self.request("PATCH", f"{EXP}/chats/model-configs/{config_id}", json=req))

    async def delete_chat_model_config(self, config_id: uuid.UUID | str) -> None:
        """Admins: soft-delete a model config (deleting the default promotes another)."""
        await self.request("DELETE", f"{EXP}/chats/model-configs/{config_id}", expect=204)

    async def chat_models(self) -> ChatModelCatalog:
        """The model picker: enabled models by provider, with availability (every user)."""
        return await self._get(f"{EXP}/chats/models", ChatModelCatalog)

    async def chat_system_prompt(self) -> str:
        """Admins: the deployment's system prompt ("" when unset)."""
        return (await self._get(f"{EXP}/chats/config/system-prompt", ChatSystemPrompt)).system_prompt

    async def interrupt_chat(self, chat_id: uuid.UUID | str) -> Chat:
        """Stop the chat's running turn within a second; its partial answer is kept."""
        return _parse(Chat, await self.request("POST", f"{EXP}/chats/{chat_id}/interrupt"))

    async def stream_chat(
        self, chat_id: uuid.UUID | str, last_event_id: str | None = None
    ) -> AsyncIterator[tuple[str, ChatStreamEvent]]:
        """The chat's events as (id, event), from after `last_event_id` (None: from the start), until
        the caller stops iterating. Reconnect with the last id to resume with no gap."""
        headers = self.headers() | ({"Last-Event-ID": last_event_id} if last_event_id else {})
        timeout = httpx.Timeout(30.0, read=None)  # heartbeats come every 15 s; a turn may be long
        async with self._http.stream(
            "GET", f"{EXP}/chats/{chat_id}/stream", headers=headers, timeout=timeout
        ) as response:
            if response.status_code != 200:
                await response.aread()
                raise _error(response)
            lines: list[str] = []
            async for line in response.aiter_lines():
                if line:
                    lines.append(line)
                    continue
                parsed = parse_sse_lines(lines)
                lines = []
                if parsed is not None:
                    yield parsed

    async def set_chat_system_prompt(self, prompt: str) -> str:
        """Owners: set the deployment's system prompt ("" removes it)."""
        req = UpdateChatSystemPromptRequest(system_prompt=prompt)
        response = await self.request("PUT", f"{EXP}/chats/config/system-prompt", json=req)
        return _parse(ChatSystemPrompt, response).system_prompt


def _parse(model: type[T], response: httpx.Response) -> T:
    return TypeAdapter(model).validate_json(response.content)


def _error(response: httpx.Response) -> DevplaneError:
    try:
        envelope = Response.model_validate_json(response.content)
    except ValueError:
        envelope = Response(message=f"Unexpected response ({response.status_code}).", detail=response.text[:200])
    return DevplaneError(response.status_code, envelope, dict(response.headers))
