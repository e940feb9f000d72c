"""Chat-loop benchmark: the loop's own overhead per tool step, the first `message_part` at an SSE
client, and `/healthz` while 50 chats run.

    bench/run --chat [--small]            (or: .venv/bin/python -m bench.chat_loop [--small])

devplane runs in this process (SQLite in a temp dir; uvicorn on 127.0.0.1 in this loop) with a fake
model that answers at once (no network), so model time is ~0; the MCP upstream is the echo server
of bench/upstream.py in its own process. Overhead per step = (turn wall time - the tool calls' own
durations) / model calls in the turn. Figures are printed; targets (issue 10): overhead p50 <= 5 ms,
p99 <= 25 ms; first part <= 5 ms p50; /healthz p99 < 50 ms with 50 chats. Every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import uvicorn

from bench.gateway import STARTED, BenchError, percentile, start_upstream, upstream_port
from devplane.api.app import create_app, start, stop
from devplane.api.serving import uvicorn_config
from devplane.chat.provider import Finish, ModelRequest, StreamEvent, TextDelta, ToolCall, ToolCallDelta, Usage
from devplane.config import Settings
from devplane.crypto.cipher import generate_key
from devplane.logging import configure
from devplane.sdk.chat_models import CreateChatModelConfigRequest, CreateChatProviderRequest, ProviderKind
from devplane.sdk.chats import CreateChatMessageRequest, CreateChatRequest
from devplane.sdk.client import Client
from devplane.sdk.mcp import CreateMCPServerConfigRequest
from devplane.sdk.users import CreateFirstUserRequest, LoginRequest

STEPS = 5  # tool steps per turn, then a text answer


class FakeModel:
    """Answers at once: STEPS tool calls (echo), then text. `/slow` streams slowly (for /healthz)."""

    provider = "fake"
    first_part_at: ClassVar[dict[str, float]] = {}  # message text -> when the fake sent its first part
    release: ClassVar[asyncio.Event]

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        first = next((m.text for m in request.messages if m.role == "user"), "")
        steps = sum(1 for m in request.messages if m.role == "tool")
        if first.startswith("/slow"):
            for _ in range(1200):  # until the /healthz phase is over (bounded: 60 s)
                if FakeModel.release.is_set():
                    break
                await asyncio.sleep(0.05)
                yield TextDelta("tick ")
            yield Finish(reason="stop", usage=Usage())
            return
        if first.startswith("/text"):
            FakeModel.first_part_at[first] = time.perf_counter()
            yield TextDelta("first part")
            yield Finish(reason="stop", usage=Usage(input_tokens=1, output_tokens=1))
            return
        if steps < STEPS:
            call = ToolCall(id=f"c{steps}", name="echo__echo", arguments='{"text": "bench"}')
            yield ToolCallDelta(index=0, id=call.id, name=call.name, arguments_delta=call.arguments)
            yield Finish(reason="tool_calls", usage=Usage(), tool_calls=(call,))
            return
        yield TextDelta("done")
        yield Finish(reason="stop", usage=Usage())

    async def aclose(self) -> None:
        return None


async def wait_idle(client: Client, chat_id: uuid.UUID, cap: float = 60.0) -> None:
    deadline = time.monotonic() + cap
    while time.monotonic() < deadline:
        chat = await client.chat(chat_id)
        if chat.status in ("waiting", "error"):
            return
        await asyncio.sleep(0.002)
    raise BenchError(f"chat {chat_id} did not finish in {cap:g} s")


def stats(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 0.5),
        "p99": percentile(values, 0.99),
        "mean": statistics.fmean(values),
    }


async def run(small: bool) -> dict[str, Any]:
    FakeModel.release = asyncio.Event()
    configure("warning")  # the request log would otherwise dominate what is measured
    turns, parts, chats = (5, 10, 10) if small else (40, 50, 50)
    with tempfile.TemporaryDirectory(prefix="devplane-chat-bench-") as tmp_name:
        tmp = Path(tmp_name)
        upstream = start_upstream(tmp, "echo-upstream")
        try:
            port = await upstream_port(upstream, tmp)
            settings = Settings(
                http_address="127.0.0.1:0",
                data_dir=tmp / "data",
                experiments=["agents"],
                external_token_encryption_keys=[generate_key()],
                log_level="warning",
                chat_worker_concurrency=max(chats, 8),
            )
            state = await start(settings)
            state.extras["chat_worker"].runner.client_for = lambda _p: FakeModel()
            server = uvicorn.Server(uvicorn_config(create_app(settings, state), host="127.0.0.1", port=0))
            serving = asyncio.create_task(server.serve())
            try:
                for _ in range(1000):
                    if server.started:
                        break
                    await asyncio.sleep(0.01)
                base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
                return await measure(base, f"http://127.0.0.1:{port}/mcp", turns, parts, chats)
            finally:
                server.should_exit = True
                await asyncio.wait_for(serving, timeout=30)
                await stop(state)
        finally:
            upstream.stop()


async def measure(base: str, echo_url: str, turns: int, parts: int, chats: int) -> dict[str, Any]:
    async with Client(base, timeout=60) as client:
        password = secrets.token_urlsafe(18)
        await client.create_first_user(
            CreateFirstUserRequest(email="bench@example.com", username="bench", password=password)
        )
        await client.login(LoginRequest(email="bench@example.com", password=password))
        provider = await client.create_chat_provider(CreateChatProviderRequest(provider=ProviderKind.ECHO))
        await client.create_chat_model_config(
            CreateChatModelConfigRequest(provider_id=provider.id, model="fake", context_limit=8192, is_default=True)
        )
        server = await client.create_mcp_server(
            CreateMCPServerConfigRequest.model_validate(
                {
                    "display_name": "Echo",
                    "slug": "echo",
                    "transport": "streamable_http",
                    "url": echo_url,
                    "auth_type": "none",
                    "availability": "default_on",
                    "enabled": True,
                }
            )
        )
        chat = await client.create_chat(CreateChatRequest(mcp_server_ids=[server.id]))

        # 1. Loop overhead per step, model ~0 and tool time excluded.
        overheads: list[float] = []
        for i in range(turns + 2):
            t0 = time.perf_counter()
            await client.create_chat_message(chat.id, CreateChatMessageRequest(content=f"turn {i}"))
            await wait_idle(client, chat.id)
            wall = (time.perf_counter() - t0) * 1000
            messages = await client.chat_messages(chat.id)
            tools = [p for m in messages[-(2 * STEPS + 1) :] for p in m.content if p.get("type") == "tool-result"]
            if i >= 2:  # the first turns connect the upstream's session
                overheads.append((wall - sum(float(p["duration_ms"]) for p in tools)) / (STEPS + 1))

        # 2. First message_part at an SSE client, after the fake sent it.
        delays: list[float] = []
        for i in range(parts):
            text_chat = await client.create_chat(CreateChatRequest(mcp_server_ids=[]))
            got: asyncio.Future[float] = asyncio.get_running_loop().create_future()

            async def listen(chat_id: uuid.UUID, fut: asyncio.Future[float]) -> None:
                async for _, event in client.stream_chat(chat_id):
                    if event.type == "message_part" and not fut.done():
                        fut.set_result(time.perf_counter())
                        return

            reader = asyncio.create_task(listen(text_chat.id, got))
            await asyncio.sleep(0.05)  # the stream is open before the turn starts
            key = f"/text {i}"
            await client.create_chat_message(text_chat.id, CreateChatMessageRequest(content=key))
            arrived = await asyncio.wait_for(got, timeout=30)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            delays.append((arrived - FakeModel.first_part_at[key]) * 1000)

        # 3. /healthz while `chats` chats stream slowly.
        busy = [await client.create_chat(CreateChatRequest(mcp_server_ids=[])) for _ in range(chats)]
        for c in busy:
            await client.create_chat_message(c.id, CreateChatMessageRequest(content="/slow"))
        for c in busy:  # measure only once they all run
            for _ in range(3000):
                if (await client.chat(c.id)).status == "running":
                    break
                await asyncio.sleep(0.01)
        health: list[float] = []
        async with httpx.AsyncClient(base_url=base) as http:
            for _ in range(200):
                t0 = time.perf_counter()
                response = await http.get("/healthz")
                health.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    raise BenchError(f"/healthz answered {response.status_code}")
                await asyncio.sleep(0.005)
        running = 0
        for c in busy:
            running += (await client.chat(c.id)).status == "running"
        FakeModel.release.set()
        for c in busy:
            await wait_idle(client, c.id, cap=120)
    return {
        "overhead_per_step_ms": stats(overheads),
        "first_part_ms": stats(delays),
        "healthz_ms": stats(health),
        "chats_running_during_healthz": running,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="The CI size: fewer turns and chats.")
    args = parser.parse_args()
    try:
        result = asyncio.run(run(args.small))
    except BenchError as exc:
        print(f"[bench] could not run: {exc}", file=sys.stderr)
        for proc in STARTED:
            proc.stop()
        sys.exit(1)
    o, f, h = result["overhead_per_step_ms"], result["first_part_ms"], result["healthz_ms"]
    print(f"chat loop overhead per step: p50 {o['p50']:.2f} ms, p99 {o['p99']:.2f} ms (n={o['n']}; target 5 / 25)")
    print(f"first message_part at the SSE client: p50 {f['p50']:.2f} ms, p99 {f['p99']:.2f} ms (target p50 5)")
    print(
        f"/healthz with {result['chats_running_during_healthz']} chats running: p50 {h['p50']:.2f} ms, "
        f"p99 {h['p99']:.2f} ms (target p99 < 50)"
    )


if __name__ == "__main__":
    main()
