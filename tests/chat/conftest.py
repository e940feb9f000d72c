"""Chat loop tests: the app's own chat worker, a scripted model, and real MCP upstreams."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devplane.api.state import AppState
from devplane.chat.loop import LoopSettings
from devplane.chat.worker import ChatWorker
from devplane.sdk.chat_models import CreateChatModelConfigRequest, CreateChatProviderRequest, ProviderKind
from devplane.sdk.chats import Chat, ChatMessage
from devplane.sdk.client import Client
from devplane.sdk.mcp import CreateMCPServerConfigRequest
from tests.chat.scripted import Script
from tests.fixtures.mcp_servers import UpstreamMCPServer


@pytest.fixture
def upstream() -> Iterator[UpstreamMCPServer]:
    with UpstreamMCPServer(transport="streamable_http") as server:
        yield server


@dataclass
class World:
    owner: Client
    state: AppState
    script: Script
    server_id: uuid.UUID
    slug: str = "tools"

    @property
    def worker(self) -> ChatWorker:
        worker: ChatWorker = self.state.extras["chat_worker"]
        return worker

    def settings(self, **changes: float) -> None:
        runner = self.worker.runner
        runner.settings = LoopSettings(**{**runner.settings.__dict__, **changes})

    async def chat(self) -> Chat:
        from devplane.sdk.chats import CreateChatRequest

        return await self.owner.create_chat(CreateChatRequest(mcp_server_ids=[self.server_id]))

    async def settle(self, chat_id: uuid.UUID, *, within: float = 15.0) -> Chat:
        """Wait (bounded) until the chat is idle: waiting or error."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            chat = await self.owner.chat(chat_id)
            if chat.status in ("waiting", "error") and chat_id not in self.worker.runs:
                return chat
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"chat still {chat.status} after {within} s")
            await asyncio.sleep(0.02)

    async def wait_status(self, chat_id: uuid.UUID, status: str, *, within: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while (await self.owner.chat(chat_id)).status != status:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"chat never became {status}")
            await asyncio.sleep(0.01)

    async def model_called(self, times: int = 1) -> None:
        """Wait (bounded) until the scripted model has been called `times` times."""
        for _ in range(1000):
            if len(self.script.requests) >= times:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the model was never called")

    async def messages(self, chat_id: uuid.UUID) -> list[ChatMessage]:
        return await self.owner.chat_messages(chat_id)


@pytest.fixture
async def world(owner: Client, state: AppState, upstream: UpstreamMCPServer) -> World:
    provider = await owner.create_chat_provider(CreateChatProviderRequest(provider=ProviderKind.ECHO))
    await owner.create_chat_model_config(
        CreateChatModelConfigRequest(provider_id=provider.id, model="scripted", context_limit=8192, is_default=True)
    )
    server = await owner.create_mcp_server(
        CreateMCPServerConfigRequest.model_validate(
            {
                "display_name": "Tools",
                "slug": "tools",
                "transport": "streamable_http",
                "url": upstream.url,
                "auth_type": "none",
                "availability": "default_off",
                "enabled": True,
            }
        )
    )
    script = Script()
    worker: ChatWorker = state.extras["chat_worker"]
    worker.runner.client_for = script.factory()
    worker.runner.sleep = lambda _delay: asyncio.sleep(0)  # backoff without the wait; delays are still reported
    return World(owner=owner, state=state, script=script, server_id=server.id)
