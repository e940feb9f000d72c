"""Upstream MCP servers in a child process, for tests that time devplane itself.

In-process upstreams share the GIL with devplane and the test, and their SDK server work (about
two thirds of the CPU of a cold catalog) would be timed as devplane's. The child prints its
servers' URLs, answers `counts` on stdin with each server's request counts, and exits at EOF.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
COUNTED = ("initialize", "tools/list", "tools/call")


class UpstreamProcess:
    def __init__(self, count: int, list_delay: float) -> None:
        # Started at once, so the child's imports overlap with whatever the test sets up next.
        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
            [sys.executable, "-m", "tests.mcp_runtime.upstream_process", str(count), str(list_delay)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._urls: list[str] | None = None

    @property
    def urls(self) -> list[str]:
        if self._urls is None:
            self._urls = [str(u) for u in json.loads(self._readline())]
        return self._urls

    def counts(self) -> list[dict[str, int]]:
        """Per server, how many of each COUNTED JSON-RPC method it received so far."""
        assert self._proc.stdin is not None
        _ = self.urls
        self._proc.stdin.write("counts\n")
        self._proc.stdin.flush()
        counts: list[dict[str, int]] = json.loads(self._readline())
        return counts

    def _readline(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"upstream process exited with {self._proc.wait()}")
        return line

    def __enter__(self) -> UpstreamProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


async def _warm_up(url: str) -> None:
    from mcp import Client

    async with Client(url, mode="legacy") as client:
        await client.list_tools()
        await client.call_tool("echo", {"text": "warm"})


def main() -> None:
    from tests.fixtures.mcp_servers import UpstreamMCPServer

    count, list_delay = int(sys.argv[1]), float(sys.argv[2])
    # JSON answers: SSE framing would only add upstream CPU; stateful, like real servers.
    servers = [UpstreamMCPServer(list_delay=list_delay, json_response=True).start() for _ in range(count)]
    # A fresh process pays lazy imports and validator builds on its first requests: take that here.
    asyncio.run(_warm_up(servers[0].url))
    servers[0].reset_log()
    print(json.dumps([s.url for s in servers]), flush=True)  # noqa: T201 - the protocol with the parent
    for line in sys.stdin:
        if line.strip() == "counts":
            counts = [{m: s.count_rpc(m) for m in COUNTED} for s in servers]
            print(json.dumps(counts), flush=True)  # noqa: T201 - the protocol with the parent
    # The parent is done: no graceful stop (open streams would hold each server a second).
    os._exit(0)


if __name__ == "__main__":
    main()
