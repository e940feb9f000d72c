"""Upstream MCP server(s) for the benchmark, run as their own process.

    python -m bench.upstream --port-file PATH [--servers N] [--list-delay S] [--json-response]
                             [--http auto|h11|httptools] [--loop auto|asyncio|uvloop]

One process, one uvicorn server on 127.0.0.1 (an ephemeral port, written to --port-file once
listening), serving N independent MCP servers built with the official SDK (`MCPServer`), each
with an `echo` tool. With N == 1 the endpoint is /mcp; with N > 1 they are /s0/mcp ... /s{N-1}/mcp
(each its own MCPServer and session manager: N separate upstreams as far as a client can tell).

Streamable HTTP, **stateful** (Mcp-Session-Id, as the SDK defaults), and by default answering
POSTs as `text/event-stream` (the SDK's default, what most deployed servers do);
`--json-response` switches to `application/json` answers. `--list-delay` sleeps before each
tools/list (the "slow server" of the catalog benchmark); `--deaf-calls` never answers a
tools/call (the fault battery's deaf upstream). No request log and no auth: the
upstream should cost the same for the direct and the gateway measurement, and as little as it can.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"


def build_server(name: str, list_delay: float, deaf_calls: bool = False) -> MCPServer:
    server = MCPServer(name, log_level="WARNING")

    @server.tool(description="Return the given text unchanged.")
    def echo(text: str) -> str:
        return text

    if list_delay > 0:

        async def slow_list(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
            if ctx.method == "tools/list":
                await anyio.sleep(list_delay)
            return await call_next(ctx)

        server.middleware.append(slow_list)
    if deaf_calls:
        # The fault battery's deaf upstream: it answers initialize and tools/list, and reads every
        # tools/call without ever answering it (until the process is stopped).
        async def deaf_call(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
            if ctx.method == "tools/call":
                await anyio.sleep_forever()
            return await call_next(ctx)

        server.middleware.append(deaf_call)
    return server


def build_app(servers: int, list_delay: float, json_response: bool, deaf_calls: bool = False) -> ASGIApp:
    mcps = [build_server(f"bench-upstream-{i}", list_delay, deaf_calls) for i in range(servers)]
    apps = [
        m.streamable_http_app(streamable_http_path="/mcp", json_response=json_response, host=LOOPBACK) for m in mcps
    ]
    if servers == 1:
        return apps[0]  # its own lifespan runs the session manager

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Mount does not run sub-app lifespans: run every session manager here.
        async with contextlib.AsyncExitStack() as stack:
            for m in mcps:
                await stack.enter_async_context(m.session_manager.run())
            yield

    return Starlette(routes=[Mount(f"/s{i}", app=a) for i, a in enumerate(apps)], lifespan=lifespan)


def listen() -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on accepted sockets whose proto is
    # IPPROTO_TCP; a socket made with proto=0 would add ~40 ms (Nagle + delayed ACK) to every
    # answer written in more than one piece (docs/dev-notes/mcp-sdk.md).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    sock.listen(1024)
    return sock


def write_port(path: str, port: int) -> None:
    # Atomic: the benchmark never reads a half-written file.
    tmp = Path(f"{path}.tmp")
    tmp.write_text(str(port))
    os.replace(tmp, path)


async def serve(config: uvicorn.Config, sock: socket.socket, port_file: str) -> None:
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(1000):  # up to 10 s
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if server.started:
        write_port(port_file, int(sock.getsockname()[1]))
    await task  # uvicorn handles SIGTERM/SIGINT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port-file", required=True, help="Where to write the listening port.")
    parser.add_argument("--servers", type=int, default=1, help="How many MCP servers to serve (default 1).")
    parser.add_argument("--list-delay", type=float, default=0.0, help="Seconds to sleep before each tools/list.")
    parser.add_argument("--deaf-calls", action="store_true", help="Never answer tools/call (the fault battery).")
    parser.add_argument("--json-response", action="store_true", help="Answer POSTs with JSON, not SSE.")
    parser.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto", help="uvicorn's HTTP parser.")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto", help="uvicorn's event loop.")
    args = parser.parse_args()
    if not 1 <= args.servers <= 64:
        parser.error("--servers must be 1..64")
    config = uvicorn.Config(
        build_app(args.servers, args.list_delay, args.json_response, args.deaf_calls),
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        http=args.http,
        loop=args.loop,
    )
    # "auto" is what `MCPServer.run()` does: uvloop and httptools when installed. A plain
    # `pip install mcp` has neither (uvicorn without extras), hence h11 and asyncio.
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve(config, listen(), args.port_file))


if __name__ == "__main__":
    main()
