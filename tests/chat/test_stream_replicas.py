"""A stream on replica B sees what replica A's worker commits, within a second (PostgreSQL only:
two app states on one database, hints over LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import time

import uvicorn

from devplane.api.app import create_app, start, stop
from devplane.api.serving import uvicorn_config
from devplane.config import Settings
from devplane.sdk.chats import CreateChatMessageRequest
from devplane.sdk.client import Client
from tests.chat import scripted as s
from tests.chat.conftest import World
from tests.conftest import require_pg


async def test_replica_b_streams_what_replica_a_commits(world: World, settings: Settings) -> None:
    require_pg()
    replica_b = await start(settings)
    await replica_b.extras["chat_worker"].stop()  # only replica A (the world's app) runs turns
    server = uvicorn.Server(uvicorn_config(create_app(settings, replica_b), host="127.0.0.1", port=0))
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        world.script.entries = [s.text("from replica a")]
        chat = await world.chat()
        async with Client(url, world.owner.token) as on_b:
            seen: dict[str, float] = {}

            async def watch() -> None:
                async for _, event in on_b.stream_chat(chat.id):
                    if event.type == "message" and event.message and event.message.role == "assistant":
                        seen["at"] = time.perf_counter()
                        return

            watcher = asyncio.create_task(watch())
            await asyncio.sleep(0.3)
            await world.owner.create_chat_message(chat.id, CreateChatMessageRequest(content="hi"))
            await world.settle(chat.id)
            committed = time.perf_counter()
            await asyncio.wait_for(watcher, timeout=5)
        assert seen["at"] - committed < 1.0
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=10)
        await stop(replica_b)
