"""The gateway benchmark with server-everything (the TypeScript SDK's reference server) upstream.

Report only (the issue 4 targets are judged on the Python upstream): most deployed MCP servers
are built on the TypeScript SDK, whose streamable HTTP answers differ from the Python SDK's
(priming events, event ids), so the pass-through's ratio against it is worth printing beside the
Python one. Same lean client and interleaving as bench/gateway.py. Needs Node and node_modules/
(`./scripts/dev bootstrap`); without them the section says why it was skipped.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

# bench.gateway imports this module inside run(): no import cycle at load time.
from bench.gateway import (
    ECHO_TEXT,
    GATEWAY_PATH,
    LOOPBACK,
    STARTUP_TIMEOUT,
    BenchError,
    Call,
    LeanClient,
    Proc,
    Size,
    child_env,
    free_port,
    latency_stats,
    ratio,
    say,
    sequential,
    throughput,
)
from devplane.sdk.client import Client as DevplaneClient
from devplane.sdk.mcp import CreateMCPServerConfigRequest

ROOT = Path(__file__).resolve().parent.parent
SERVER_EVERYTHING = ROOT / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
LEVELS = (1, 8)


def skip_reason() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed"
    if not SERVER_EVERYTHING.is_file():
        return "node_modules/ has no server-everything (run ./scripts/dev bootstrap)"
    return None


def echo_call(client: LeanClient, tool: str) -> Call:
    async def call() -> None:
        result = await client.call(tool, {"message": ECHO_TEXT})
        content = result.get("content") or [{}]
        if result.get("isError") or content[0].get("text") != f"Echo: {ECHO_TEXT}":
            raise BenchError(f"server-everything echo answered {str(result)[:200]}")

    return call


async def _connected(url: str) -> LeanClient:
    """A lean client on server-everything, retried until the Node process listens."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        client = LeanClient(url)
        try:
            await client.initialize()
            return client
        except Exception:
            await client.close()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def measure(base: str, token: str, size: Size, tmp: Path) -> dict[str, Any]:
    """Ratios gateway/direct with server-everything upstream: sequential p50 and calls/s at c1, c8.

    A failure is reported in the section, not raised: under `python -m bench.gateway` this
    module's `bench.gateway` is a second copy of `__main__`, whose BenchError main() would not
    recognise; and the section is report only.
    """
    try:
        return await _measure(base, token, size, tmp)
    except Exception as exc:
        say(f"server-everything: FAILED: {type(exc).__name__}: {exc}"[:500])
        return {"failed": f"{type(exc).__name__}: {exc}"[:500]}


async def _measure(base: str, token: str, size: Size, tmp: Path) -> dict[str, Any]:
    reason = skip_reason()
    if reason is not None:
        say(f"server-everything: skipped ({reason})")
        return {"skipped": reason}
    node = shutil.which("node")
    assert node is not None
    port = free_port()
    proc = Proc(
        "server-everything",
        [node, str(SERVER_EVERYTHING), "streamableHttp"],
        {**child_env(), "PORT": str(port)},
        tmp / "server-everything.log",
    )
    url = f"http://{LOOPBACK}:{port}/mcp"
    clients: dict[str, LeanClient] = {}
    try:
        clients["direct"] = await _connected(url)
        async with DevplaneClient(base, token, timeout=30.0) as admin:
            await admin.create_mcp_server(
                CreateMCPServerConfigRequest.model_validate(
                    {
                        "display_name": "Everything",
                        "slug": "every",
                        "transport": "streamable_http",
                        "url": url,
                        "auth_type": "none",
                        "availability": "default_on",
                        "enabled": True,
                    }
                )
            )
        clients["gateway"] = LeanClient(f"{base}{GATEWAY_PATH}", {"Authorization": f"Bearer {token}"})
        await clients["gateway"].initialize()
        calls = {
            "direct": echo_call(clients["direct"], "echo"),
            "gateway": echo_call(clients["gateway"], "every__echo"),
        }
        say(f"server-everything (pid {proc.pid}): warm-up, then {size.sequential} sequential calls per target")
        await sequential(calls, size.warmup, size.phase_cap)
        latencies = await sequential(calls, size.sequential, size.phase_cap)
        result: dict[str, Any] = {
            "server": "@modelcontextprotocol/server-everything (TypeScript SDK), streamableHttp, stateful",
            "sequential": {name: latency_stats(values) for name, values in latencies.items()},
            "throughput": {},
        }
        seq = result["sequential"]
        seq["ratio_p50"] = ratio(seq["gateway"]["p50_ms"], seq["direct"]["p50_ms"])
        for level in LEVELS:
            per_target = {name: [0, 0.0] for name in calls}
            for r in range(size.rounds):
                for name in calls if r % 2 == 0 else reversed(list(calls)):
                    done, seconds = await throughput(
                        calls[name], level, size.concurrent // size.rounds, size.phase_cap / size.rounds
                    )
                    per_target[name][0] += done
                    per_target[name][1] += seconds
            row = {name: round(n / s, 1) for name, (n, s) in per_target.items()}
            result["throughput"][str(level)] = {
                "direct_calls_per_s": row["direct"],
                "gateway_calls_per_s": row["gateway"],
                "ratio": ratio(row["gateway"], row["direct"]),
            }
        return result
    finally:
        for client in clients.values():
            await client.close()
        proc.stop()


def table_lines(section: dict[str, Any]) -> list[str]:
    if "skipped" in section:
        return ["", f"server-everything upstream: skipped ({section['skipped']})"]
    if "failed" in section:
        return ["", f"server-everything upstream: FAILED ({section['failed']})"]
    seq, thr = section["sequential"], section["throughput"]
    lines = ["", f"upstream {section['server']} (report only):"]
    lines.append(
        f"  p50 latency ({seq['direct']['calls']}): direct {seq['direct']['p50_ms']:.2f} ms, "
        f"gateway {seq['gateway']['p50_ms']:.2f} ms, ratio {seq['ratio_p50']:.2f}x"
    )
    for level, row in thr.items():
        lines.append(
            f"  calls/s at concurrency {level}: direct {row['direct_calls_per_s']:.1f}, "
            f"gateway {row['gateway_calls_per_s']:.1f}, ratio {row['ratio']:.2f}x"
        )
    return lines
