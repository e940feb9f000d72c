"""MCP gateway benchmark: the `echo` tool direct (client -> upstream) vs through the gateway
(client -> devplane -> upstream), and the chat tool catalog over 10 slow upstreams; then the
same echo ratios with server-everything (TypeScript SDK) upstream, report only (bench/everything.py).

    bench/run [--small] [--json]          (or: .venv/bin/python -m bench.gateway ...)

Separate processes, all on 127.0.0.1, so CPU is measurable per process and the load generator
shares no GIL with the servers:
  * the echo upstream (`python -m bench.upstream`, SDK MCPServer, stateful streamable HTTP,
    SSE answers unless --upstream-json),
  * ten slow upstreams in one more process (`--servers 10 --list-delay 0.2`), for the catalog,
  * devplane (`.venv/bin/devplane server`, a temp data dir, experiment `agents`).
The client is this process. The load generator is a lean MCP client (raw JSON-RPC over one
aiohttp session after an initialize), the same code for both targets, so the client is not the
bottleneck; the official SDK client (`mcp.Client`) is measured too, for sequential latency.

Every loop is bounded by a count and a time cap; only the processes started here are stopped,
by PID. Exit status: 0 when the benchmark ran (missed targets are printed, not failed), 1 when
it could not run, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx2
from mcp import Client as MCPClient
from mcp.client.streamable_http import streamable_http_client

from devplane.crypto.cipher import generate_key
from devplane.sdk.chats import CreateChatRequest
from devplane.sdk.client import Client as DevplaneClient
from devplane.sdk.mcp import CreateMCPServerConfigRequest
from devplane.sdk.users import CreateFirstUserRequest, LoginRequest

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
GATEWAY_PATH = "/api/experimental/mcp/gateway"
PROTOCOL_VERSION = "2025-11-25"
ECHO_TEXT = "hello from the devplane benchmark"
LEVELS = (1, 8, 32)
CATALOG_SERVERS = 10
CATALOG_LIST_DELAY = 0.2
CALL_TIMEOUT = 30.0  # one call; far above any sane latency, so a hang fails instead of stalling
STARTUP_TIMEOUT = 60.0
NAGLE_SUSPECT_MS = 30.0  # delayed ACK is 40 ms on Linux: a p50 near it means Nagle is on somewhere

# Targets from issue 4.
TARGET_P50_RATIO = 1.4  # gateway p50 <= 1.4x direct
TARGET_C8_RATIO = 0.7  # gateway calls/s at concurrency 8 >= 0.7x direct


@dataclass(frozen=True)
class Size:
    name: str
    warmup: int  # lean-client calls per target before measuring (also connects the gateway's pool)
    sequential: int  # lean-client sequential calls per target
    sdk_sequential: int  # SDK-client sequential calls per target
    concurrent: int  # calls per target and concurrency level
    rounds: int  # each concurrency level alternates direct and gateway this many times
    phase_cap: float  # seconds: each phase stops early when over it
    catalog_warm: int  # warm catalog requests (median reported)


FULL = Size(
    "full", warmup=300, sequential=3000, sdk_sequential=1000, concurrent=8000, rounds=4, phase_cap=40.0, catalog_warm=5
)
SMALL = Size(
    "small", warmup=50, sequential=300, sdk_sequential=100, concurrent=800, rounds=2, phase_cap=4.0, catalog_warm=3
)


class BenchError(Exception):
    """The benchmark cannot run (a process did not start, a call failed...)."""


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- processes ---------------------------------------------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STARTED: list[Proc] = []  # every child, so main() can stop them whatever happened


class Proc:
    """A child process we started; stopped by its PID only (terminate, wait, kill)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(  # noqa: S603 (argv is ours, no shell)
            argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        STARTED.append(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        """utime + stime of the process (all its threads), from /proc/<pid>/stat."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is field 3
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._log.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def child_env() -> dict[str, str]:
    # No DEVPLANE_* from the caller's shell or CI (a PostgreSQL URL, a log level...) leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVPLANE_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def start_upstream(tmp: Path, name: str, *extra: str) -> Proc:
    port_file = tmp / f"{name}.port"
    argv = [sys.executable, "-m", "bench.upstream", "--port-file", str(port_file), *extra]
    return Proc(name, argv, child_env(), tmp / f"{name}.log")


async def upstream_port(proc: Proc, tmp: Path) -> int:
    port_file = tmp / f"{proc.name}.port"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if port_file.exists():
            return int(port_file.read_text())
        if not proc.running():
            raise BenchError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.log_tail()}")
        await asyncio.sleep(0.05)
    raise BenchError(f"{proc.name} did not start within {STARTUP_TIMEOUT:g}s:\n{proc.log_tail()}")


def start_devplane(tmp: Path, port: int, log_level: str) -> Proc:
    tmp.mkdir(parents=True, exist_ok=True)
    env = child_env()
    env.update(
        DEVPLANE_DATA_DIR=str(tmp / "devplane-data"),
        DEVPLANE_HTTP_ADDRESS=f"{LOOPBACK}:{port}",
        DEVPLANE_EXPERIMENTS="agents",
        DEVPLANE_EXTERNAL_TOKEN_ENCRYPTION_KEYS=generate_key(),
        DEVPLANE_LOG_LEVEL=log_level,
    )
    devplane = Path(sys.executable).parent / "devplane"
    if not devplane.exists():
        raise BenchError(f"{devplane} not found: install the project into this venv (./scripts/dev bootstrap)")
    return Proc("devplane", [str(devplane), "server"], env, tmp / "devplane.log")


async def wait_healthy(proc: Proc, base: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while time.monotonic() < deadline:
            if not proc.running():
                raise BenchError(f"devplane exited ({proc.popen.returncode}):\n{proc.log_tail()}")
            try:
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise BenchError(f"devplane did not become healthy within {STARTUP_TIMEOUT:g}s:\n{proc.log_tail()}")


# --- the lean client ---------------------------------------------------------------------------
class LeanClient:
    """Raw MCP JSON-RPC over one aiohttp session: initialize once, then tools/call POSTs.

    Reads JSON and SSE answers alike (the gateway answers JSON; the SDK upstream answers SSE
    unless --upstream-json). aiohttp sets TCP_NODELAY on its connections.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **(headers or {}),
        }
        self.session_id: str | None = None
        self._ids = itertools.count(1)
        connector = aiohttp.TCPConnector(limit=128, limit_per_host=128, keepalive_timeout=60)
        self.http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT))

    async def initialize(self) -> None:
        params = {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "devplane-bench", "version": "1"},
        }
        message, headers = await self._request("initialize", params)
        self.session_id = headers.get("mcp-session-id")
        if self.session_id:
            self.headers["Mcp-Session-Id"] = self.session_id
        self.headers["MCP-Protocol-Version"] = str(message["result"]["protocolVersion"])
        note = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})
        async with self.http.post(self.url, data=note, headers=self.headers) as resp:
            await resp.read()
            if resp.status >= 300:
                raise BenchError(f"notifications/initialized: HTTP {resp.status}")

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        message, _ = await self._request("tools/call", {"name": name, "arguments": arguments})
        if "error" in message:
            raise BenchError(f"tools/call {name}: {message['error']}")
        result: dict[str, Any] = message["result"]
        return result

    async def _request(self, method: str, params: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        msg_id = next(self._ids)
        body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        async with self.http.post(self.url, data=body, headers=self.headers) as resp:
            raw = await resp.read()
            if resp.status != 200:
                raise BenchError(f"{method}: HTTP {resp.status}: {raw[:200]!r}")
            ctype = resp.headers.get("Content-Type", "")
            if ctype.startswith("application/json"):
                message = json.loads(raw)
            elif ctype.startswith("text/event-stream"):
                message = _sse_response(raw, msg_id)
            else:
                raise BenchError(f"{method}: unexpected content type {ctype!r}")
            if not isinstance(message, dict) or message.get("id") != msg_id:
                raise BenchError(f"{method}: no JSON-RPC response in {raw[:200]!r}")
            return message, resp.headers

    async def close(self) -> None:
        try:
            if self.session_id:
                async with asyncio.timeout(5), self.http.delete(self.url, headers=self.headers) as resp:
                    await resp.read()
        except (aiohttp.ClientError, TimeoutError):
            pass
        finally:
            await self.http.close()


def _sse_response(raw: bytes, msg_id: int) -> Any:
    for event in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = b"\n".join(line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:"))
        if data:
            message = json.loads(data)
            if isinstance(message, dict) and message.get("id") == msg_id:
                return message
    return None


def check_echo(result: dict[str, Any]) -> None:
    content = result.get("content") or [{}]
    if result.get("isError") or content[0].get("text") != ECHO_TEXT:
        raise BenchError(f"echo answered {str(result)[:200]}")


# --- measurements ------------------------------------------------------------------------------
Call = Callable[[], Awaitable[None]]


def lean_call(client: LeanClient, tool: str) -> Call:
    async def call() -> None:
        check_echo(await client.call(tool, {"text": ECHO_TEXT}))

    return call


async def sequential(calls: dict[str, Call], count: int, cap: float) -> dict[str, list[float]]:
    """Latencies (ms) of up to `count` calls per target, one at a time, stopping after `cap` s.

    Interleaved (A B, B A, A B...): both targets see the same machine at the same moment, so
    the ratio holds even when the machine's load drifts during the run.
    """
    latencies: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls.items())
    deadline = time.perf_counter() + cap
    for i in range(count):
        for name, call in order if i % 2 == 0 else reversed(order):
            start = time.perf_counter()
            await call()
            latencies[name].append((time.perf_counter() - start) * 1000)
        if time.perf_counter() > deadline:
            break
    return latencies


async def throughput(call: Call, concurrency: int, count: int, cap: float) -> tuple[int, float]:
    """`concurrency` workers share `count` calls, stopping after `cap` seconds: (calls, seconds)."""
    remaining, done = count, 0
    start = time.perf_counter()
    deadline = start + cap

    async def worker() -> None:
        nonlocal remaining, done
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            await call()
            done += 1

    async with asyncio.timeout(cap + CALL_TIMEOUT):
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def latency_stats(latencies: list[float]) -> dict[str, float]:
    return {
        "calls": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
    }


class CPUMeter:
    """CPU seconds used by each process (and this client) over a phase."""

    def __init__(self, procs: dict[str, Proc]) -> None:
        self.procs = procs

    def names(self) -> list[str]:
        return [*self.procs, "client"]

    def snapshot(self) -> dict[str, float]:
        return {name: p.cpu_seconds() for name, p in self.procs.items()} | {"client": time.process_time()}

    def used(self, before: dict[str, float]) -> dict[str, float]:
        after = self.snapshot()
        return {name: after[name] - before[name] for name in before}

    def per_call(self, before: dict[str, float], calls: int) -> dict[str, float]:
        return {f"{k}_cpu_ms_per_call": round(v * 1000 / max(calls, 1), 3) for k, v in self.used(before).items()}


@contextlib.asynccontextmanager
async def sdk_client(url: str, headers: dict[str, str]) -> AsyncIterator[MCPClient]:
    """The official SDK client, legacy (2025) handshake: the era the gateway speaks."""
    timeout = httpx2.Timeout(CALL_TIMEOUT, connect=5.0)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        MCPClient(
            streamable_http_client(url, http_client=http), mode="legacy", read_timeout_seconds=CALL_TIMEOUT, cache=None
        ) as client,
    ):
        yield client


def sdk_call(client: MCPClient, tool: str) -> Call:
    async def call() -> None:
        result = await client.call_tool(tool, {"text": ECHO_TEXT})
        text = getattr(result.content[0], "text", None) if result.content else None
        if result.is_error or text != ECHO_TEXT:
            raise BenchError(f"SDK echo answered {result!r}"[:300])

    return call


# --- the run -----------------------------------------------------------------------------------
@dataclass
class Setup:
    base: str
    token: str
    echo_url: str
    chat_id: str


async def setup_devplane(base: str, echo_url: str, slow_base: str) -> Setup:
    email, username, password = "bench@example.com", "bench", f"Bench-{secrets.token_urlsafe(12)}-9a"
    async with DevplaneClient(base, timeout=30.0) as admin:
        await admin.create_first_user(CreateFirstUserRequest(email=email, username=username, password=password))
        await admin.login(LoginRequest(email=email, password=password))
        assert admin.token is not None
        await admin.create_mcp_server(
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
        slow_ids = []
        for i in range(CATALOG_SERVERS):
            # default_off: only the catalog chat selects them; the gateway's set stays the echo server.
            config = await admin.create_mcp_server(
                CreateMCPServerConfigRequest.model_validate(
                    {
                        "display_name": f"Slow {i}",
                        "slug": f"slow{i}",
                        "transport": "streamable_http",
                        "url": f"{slow_base}/s{i}/mcp",
                        "auth_type": "none",
                        "availability": "default_off",
                        "enabled": True,
                    }
                )
            )
            slow_ids.append(config.id)
        chat = await admin.create_chat(CreateChatRequest(title="catalog bench", mcp_server_ids=slow_ids))
        return Setup(base=base, token=admin.token, echo_url=echo_url, chat_id=str(chat.id))


async def catalog_times(setup: Setup, warm_count: int) -> dict[str, Any]:
    path = f"/api/experimental/chats/{setup.chat_id}/tools"
    async with DevplaneClient(setup.base, setup.token, timeout=30.0) as client:

        async def fetch() -> tuple[float, dict[str, Any]]:
            start = time.perf_counter()
            resp = await client.http.get(path, headers=client.headers())
            elapsed = (time.perf_counter() - start) * 1000
            if resp.status_code != 200:
                raise BenchError(f"GET {path}: HTTP {resp.status_code}: {resp.text[:200]}")
            body: dict[str, Any] = resp.json()
            return elapsed, body

        cold, body = await fetch()
        statuses = sorted({s["status"] for s in body["servers"]})
        if (
            len(body["servers"]) != CATALOG_SERVERS
            or statuses != ["connected"]
            or len(body["tools"]) != CATALOG_SERVERS
        ):
            raise BenchError(f"catalog: expected {CATALOG_SERVERS} connected servers, got {body['servers']}")
        warm = [(await fetch())[0] for _ in range(warm_count)]
    return {
        "servers": CATALOG_SERVERS,
        "list_delay_ms": CATALOG_LIST_DELAY * 1000,
        "serial_would_be_ms": CATALOG_SERVERS * CATALOG_LIST_DELAY * 1000,
        "cold_ms": round(cold, 1),
        "warm_ms": round(statistics.median(warm), 1),
        "server_latency_ms_max": max(s["latency_ms"] for s in body["servers"]),
    }


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


async def measure(setup: Setup, size: Size, procs: dict[str, Proc]) -> dict[str, Any]:
    gateway_url = f"{setup.base}{GATEWAY_PATH}"
    auth = {"Authorization": f"Bearer {setup.token}"}
    endpoints = {"direct": (setup.echo_url, {}, "echo"), "gateway": (gateway_url, auth, "echo__echo")}
    meter = CPUMeter(procs)
    results: dict[str, Any] = {"sequential": {}, "sdk_sequential": {}, "throughput": {}}
    clients = {name: LeanClient(url, headers) for name, (url, headers, _) in endpoints.items()}
    try:
        calls = {}
        for name, client in clients.items():
            await client.initialize()
            calls[name] = lean_call(client, endpoints[name][2])
        say(f"warm-up: {size.warmup} calls per target")
        await sequential(calls, size.warmup, size.phase_cap)

        say(f"sequential, interleaved: {size.sequential} calls per target")
        before = meter.snapshot()
        latencies = await sequential(calls, size.sequential, size.phase_cap)
        # Only the gateway process's CPU is per gateway call here (it idles during direct calls).
        cpu = meter.per_call(before, len(latencies["gateway"]))
        for name in calls:
            results["sequential"][name] = latency_stats(latencies[name])
        results["sequential"]["gateway"]["gateway_process_cpu_ms_per_call"] = cpu["gateway_process_cpu_ms_per_call"]

        for level in LEVELS:
            say(f"concurrency {level}: up to {size.concurrent} calls per target, in {size.rounds} alternating rounds")
            totals = {name: {"calls": 0, "seconds": 0.0} | dict.fromkeys(meter.names(), 0.0) for name in calls}
            for r in range(size.rounds):
                for name in calls if r % 2 == 0 else reversed(list(calls)):
                    before = meter.snapshot()
                    done, seconds = await throughput(
                        calls[name], level, size.concurrent // size.rounds, size.phase_cap / size.rounds
                    )
                    used = meter.used(before)
                    totals[name]["calls"] += done
                    totals[name]["seconds"] += seconds
                    for key, value in used.items():
                        totals[name][key] += value
            row: dict[str, Any] = {}
            for name, t in totals.items():
                n = max(int(t["calls"]), 1)
                row[name] = {
                    "calls": int(t["calls"]),
                    "seconds": round(t["seconds"], 3),
                    "calls_per_s": round(t["calls"] / t["seconds"], 1),
                    **{f"{k}_cpu_ms_per_call": round(t[k] * 1000 / n, 3) for k in meter.names()},
                }
            row["ratio"] = ratio(row["gateway"]["calls_per_s"], row["direct"]["calls_per_s"])
            results["throughput"][str(level)] = row
    finally:
        for client in clients.values():
            await client.close()

    say(f"SDK client, sequential, interleaved: {size.sdk_sequential} calls per target")
    async with asyncio.timeout(size.phase_cap + 2 * CALL_TIMEOUT):  # around the whole `async with` (dev notes)
        async with (
            sdk_client(*endpoints["direct"][:2]) as direct,
            sdk_client(*endpoints["gateway"][:2]) as gateway,
        ):
            sdk_calls = {"direct": sdk_call(direct, "echo"), "gateway": sdk_call(gateway, "echo__echo")}
            await sequential(sdk_calls, 10, size.phase_cap)  # warm-up
            sdk_latencies = await sequential(sdk_calls, size.sdk_sequential, size.phase_cap)
    for name, values in sdk_latencies.items():
        results["sdk_sequential"][name] = latency_stats(values)

    for key in ("sequential", "sdk_sequential"):
        d, g = results[key]["direct"], results[key]["gateway"]
        results[key]["ratio_p50"] = ratio(g["p50_ms"], d["p50_ms"])
        results[key]["ratio_p99"] = ratio(g["p99_ms"], d["p99_ms"])

    say(f"catalog: {CATALOG_SERVERS} servers, tools/list delay {CATALOG_LIST_DELAY:g}s each")
    results["catalog"] = await catalog_times(setup, size.catalog_warm)
    return results


def verdicts(results: dict[str, Any]) -> dict[str, Any]:
    p50 = results["sequential"]["ratio_p50"]
    c8 = results["throughput"]["8"]["ratio"]
    worst_p50 = max(results["sequential"][t]["p50_ms"] for t in ("direct", "gateway"))
    return {
        "gateway_p50_ratio": {"value": p50, "target": f"<= {TARGET_P50_RATIO}", "met": p50 <= TARGET_P50_RATIO},
        "c8_throughput_ratio": {"value": c8, "target": f">= {TARGET_C8_RATIO}", "met": c8 >= TARGET_C8_RATIO},
        # A Nagle + delayed-ACK stall shows as p50 ~40 ms on loopback; healthy runs are ~1-3 ms.
        "nagle_stall_suspected": worst_p50 >= NAGLE_SUSPECT_MS,
    }


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


async def run(tmp: Path, size: Size, upstream_json: bool, fast_upstream: bool, log_level: str) -> dict[str, Any]:
    procs: list[Proc] = []
    try:
        # The SDK's own stack unless --fast-upstream: a plain `pip install mcp` runs uvicorn on h11 and asyncio.
        echo_args = ["--json-response"] if upstream_json else []
        echo_args += ["--http", "auto", "--loop", "auto"] if fast_upstream else ["--http", "h11", "--loop", "asyncio"]
        echo = start_upstream(tmp, "upstream", *echo_args)
        procs.append(echo)
        slow = start_upstream(
            tmp, "slow-upstreams", "--servers", str(CATALOG_SERVERS), "--list-delay", str(CATALOG_LIST_DELAY)
        )
        procs.append(slow)
        echo_url = f"http://{LOOPBACK}:{await upstream_port(echo, tmp)}/mcp"
        slow_base = f"http://{LOOPBACK}:{await upstream_port(slow, tmp)}"
        for attempt in range(3):  # the free port may be taken before devplane binds it
            devplane_port = free_port()
            devplane = start_devplane(tmp / f"try{attempt}", devplane_port, log_level)
            procs.append(devplane)
            base = f"http://{LOOPBACK}:{devplane_port}"
            try:
                await wait_healthy(devplane, base)
                break
            except BenchError:
                exited = not devplane.running()
                devplane.stop()
                if attempt == 2 or not exited:
                    raise
                say("devplane exited at start; retrying on another port")
        say(f"upstream pid {echo.pid} at {echo_url}; slow upstreams pid {slow.pid}")
        say(f"devplane pid {devplane.pid} at {base}")
        setup = await setup_devplane(base, echo_url, slow_base)
        results = await measure(setup, size, {"gateway_process": devplane, "upstream": echo})
        # server-everything upstream (issue 8): report only, beside the Python upstream's ratios.
        from bench.everything import (
            measure as measure_everything,  # here, not at the top: bench.everything imports this module
        )

        results["everything"] = await measure_everything(base, setup.token, size, tmp)
        return {
            "size": size.name,
            "machine": machine(),
            "upstream": {
                "server": "mcp SDK MCPServer, streamable HTTP, stateful",
                "answers": "application/json" if upstream_json else "text/event-stream (SDK default)",
                "stack": "uvicorn with httptools + uvloop"
                if fast_upstream
                else "uvicorn with h11 + asyncio (SDK default)",
            },
            "devplane_log_level": log_level,
            "config": {
                "sequential_calls": size.sequential,
                "sdk_sequential_calls": size.sdk_sequential,
                "calls_per_level": size.concurrent,
                "phase_cap_s": size.phase_cap,
            },
            **results,
            "targets": verdicts(results),
        }
    finally:
        for proc in reversed(procs):
            proc.stop()


# --- output ------------------------------------------------------------------------------------
def table(report: dict[str, Any]) -> str:
    seq, sdk, thr = report["sequential"], report["sdk_sequential"], report["throughput"]
    m = report["machine"]
    lines = [
        f"MCP gateway benchmark ({report['size']}): echo tool, direct vs through the devplane gateway",
        f"machine: {m['cpus']} CPUs {m['cpu_model']}, Python {m['python']}; "
        f"upstream: {report['upstream']['server']}, answers {report['upstream']['answers']}",
        f"upstream stack: {report['upstream']['stack']}; devplane: `devplane server` (uvicorn, httptools + uvloop)",
        "",
        f"{'':38}{'direct':>12}{'gateway':>12}{'ratio':>9}",
    ]

    def row(label: str, d: float, g: float, r: float | None = None, unit: str = "") -> None:
        rr = f"{r:.2f}x" if r is not None else ""
        lines.append(f"{label:38}{d:>10.2f}{unit:2}{g:>10.2f}{unit:2}{rr:>9}")

    row(
        f"p50 latency, lean client ({seq['direct']['calls']})",
        seq["direct"]["p50_ms"],
        seq["gateway"]["p50_ms"],
        seq["ratio_p50"],
        "ms",
    )
    row("p99 latency, lean client", seq["direct"]["p99_ms"], seq["gateway"]["p99_ms"], seq["ratio_p99"], "ms")
    row(
        f"p50 latency, SDK client ({sdk['direct']['calls']})",
        sdk["direct"]["p50_ms"],
        sdk["gateway"]["p50_ms"],
        sdk["ratio_p50"],
        "ms",
    )
    row("p99 latency, SDK client", sdk["direct"]["p99_ms"], sdk["gateway"]["p99_ms"], sdk["ratio_p99"], "ms")
    for level, r in thr.items():
        row(f"calls/s at concurrency {level}", r["direct"]["calls_per_s"], r["gateway"]["calls_per_s"], r["ratio"])
    lines += ["", f"{'CPU per call (ms)':38}{'gateway proc':>14}{'upstream':>10}{'client':>9}"]
    lines.append(f"{'  through the gateway, sequential':38}{seq['gateway']['gateway_process_cpu_ms_per_call']:>14.3f}")
    for target in ("gateway", "direct"):
        for level, r in thr.items():
            data = r[target]
            label = f"  {'through the gateway' if target == 'gateway' else 'direct'}, concurrency {level}"
            lines.append(
                f"{label:38}"
                f"{data['gateway_process_cpu_ms_per_call']:>14.3f}"
                f"{data['upstream_cpu_ms_per_call']:>10.3f}{data['client_cpu_ms_per_call']:>9.3f}"
            )
    cat = report["catalog"]
    lines += [
        "",
        f"catalog, {cat['servers']} servers with tools/list delay {cat['list_delay_ms']:.0f} ms "
        f"(serially {cat['serial_would_be_ms']:.0f} ms): cold {cat['cold_ms']:.0f} ms, warm {cat['warm_ms']:.1f} ms",
        "",
        "targets (issue 4):",
    ]
    for name, v in report["targets"].items():
        if name == "nagle_stall_suspected":
            state = "SUSPECTED: p50 near 40 ms, check TCP_NODELAY" if v else "none (p50 far below 40 ms)"
            lines.append(f"  Nagle/delayed-ACK stall: {state}")
        else:
            lines.append(f"  {name}: {v['value']:.2f} (target {v['target']}) {'MET' if v['met'] else 'MISSED'}")
    # server-everything upstream (issue 8): report only.
    from bench.everything import table_lines  # here, not at the top: bench.everything imports this module

    lines += table_lines(report["everything"])
    return "\n".join(lines)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop for the load generator when installed (a devplane dependency): a leaner client."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description="MCP gateway benchmark (docs/benchmarks.md).")
    parser.add_argument("--small", action="store_true", help="CI size: finishes in well under a minute.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON (progress goes to stderr).")
    parser.add_argument("--upstream-json", action="store_true", help="Upstream answers application/json, not SSE.")
    parser.add_argument(
        "--fast-upstream",
        action="store_true",
        help="Upstream on httptools + uvloop instead of the SDK's h11 + asyncio.",
    )
    parser.add_argument("--log-level", default="info", help="devplane's log level (default info, as deployed).")
    parser.add_argument("--keep", action="store_true", help="Keep the temp dir with the process logs.")
    args = parser.parse_args(argv)
    size = SMALL if args.small else FULL
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)  # so a killed benchmark still stops its children
    tmp = Path(tempfile.mkdtemp(prefix="devplane-bench-"))
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            report = runner.run(run(tmp, size, args.upstream_json, args.fast_upstream, args.log_level))
    except BenchError as exc:
        say(f"FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 1
    finally:
        for proc in reversed(STARTED):
            proc.stop()
        if args.keep:
            say(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report, indent=2) if args.json else table(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
