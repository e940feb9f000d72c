"""API benchmark (issue 9): the authenticated request path against `GET /healthz`, in one run.

    bench/run api [--small] [--json] [--pg-url URL]   (or: .venv/bin/python -m bench.api ...)

A real `devplane server` subprocess on 127.0.0.1 (a temp data dir; with --pg-url or
DEVPLANE_TEST_PG_URL, also a fresh PostgreSQL database created on that server and dropped after),
16 concurrent aiohttp clients in this process, each endpoint for a fixed time:
  * `GET /healthz` (no database, no authentication: the ceiling),
  * `GET /api/v2/users/me` with an API key,
  * `GET /api/experimental/mcp/servers` (5 configs),
  * `POST /api/experimental/chats` (a write).
It prints req/s, p50, p99 and each endpoint's req/s as a ratio of /healthz's. Targets (issue 9):
reads >= 0.25x healthz with p99 <= 5x p50; writes >= 0.1x. Ratios, not absolute figures: the
load generator shares the machine. Exit 0 when it ran (missed targets are printed), 1 when it
could not run. Every loop is bounded by a time cap and a request cap.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

# asyncpg ships no type information; the benchmark only creates and drops its database.
import asyncpg  # type: ignore[import-untyped]

from bench.gateway import STARTED, BenchError, Proc, child_env, free_port, loop_factory, say, wait_healthy
from devplane.crypto.cipher import generate_key

LOOPBACK = "127.0.0.1"
CONCURRENCY = 16
REQUEST_TIMEOUT = 30.0  # one request; far above any sane latency, so a hang fails instead of stalling
MAX_REQUESTS = 2_000_000  # per endpoint: a bound on top of the time cap
TARGET_READ_RATIO = 0.25
TARGET_WRITE_RATIO = 0.1
TARGET_TAIL = 5.0  # p99 <= 5x p50
MCP_CONFIGS = 5
CHATS = "/api/experimental/chats"


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    authenticated: bool
    write: bool = False


ENDPOINTS = (
    Endpoint("healthz", "GET", "/healthz", authenticated=False),
    Endpoint("users/me", "GET", "/api/v2/users/me", authenticated=True),
    Endpoint("mcp/servers", "GET", "/api/experimental/mcp/servers", authenticated=True),
    Endpoint("create chat", "POST", CHATS, authenticated=True, write=True),
)


@dataclass
class Stats:
    endpoint: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float


# --- the server ----------------------------------------------------------------------------------
@dataclass
class Server:
    proc: Proc
    base: str
    token: str
    database: str  # "sqlite" or "postgresql"


def start_devplane(
    tmp: Path,
    pg_url: str | None,
    *,
    log_level: str = "warning",
    name: str = "devplane",
    extra_env: dict[str, str] | None = None,
) -> Proc:
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = child_env()
    env.update(
        DEVPLANE_DATA_DIR=str(tmp / f"{name}-data"),
        DEVPLANE_HTTP_ADDRESS=f"{LOOPBACK}:{port}",
        DEVPLANE_EXPERIMENTS="agents",
        DEVPLANE_EXTERNAL_TOKEN_ENCRYPTION_KEYS=generate_key(),
        DEVPLANE_LOG_LEVEL=log_level,
        DEVPLANE_LOGIN_RATE_LIMIT="1000",
    )
    if pg_url:
        env["DEVPLANE_PG_URL"] = pg_url
    env.update(extra_env or {})
    devplane = Path(sys.executable).parent / "devplane"
    if not devplane.exists():
        raise BenchError(f"{devplane} not found: install the project into this venv (./scripts/dev bootstrap)")
    proc = Proc(name, [str(devplane), "server"], env, tmp / f"{name}.log")
    proc.port = port  # type: ignore[attr-defined]  # remembered for base_url()
    return proc


def base_url(proc: Proc) -> str:
    return f"http://{LOOPBACK}:{proc.port}"  # type: ignore[attr-defined]  # set by start_devplane


async def sign_in(http: aiohttp.ClientSession, base: str) -> str:
    """The first user (an owner), logged in: its session token is an API key (login type password)."""
    user = {"email": "bench@example.com", "username": "bench", "password": "Bench-pass-1234"}
    async with http.post(f"{base}/api/v2/users/first", json=user) as resp:
        if resp.status != 201:
            raise BenchError(f"create first user: HTTP {resp.status}: {(await resp.read())[:200]!r}")
    login = {"email": user["email"], "password": user["password"]}
    async with http.post(f"{base}/api/v2/users/login", json=login) as resp:
        if resp.status != 201:
            raise BenchError(f"login: HTTP {resp.status}")
        token: str = (await resp.json())["session_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for i in range(MCP_CONFIGS):
        config = {
            "display_name": f"Bench {i}",
            "slug": f"bench{i}",
            "transport": "streamable_http",
            "url": f"http://{LOOPBACK}:9/s{i}/mcp",  # never contacted: listing does not connect
            "auth_type": "none",
            "availability": "default_off",
            "enabled": True,
        }
        async with http.post(f"{base}/api/experimental/mcp/servers", json=config, headers=headers) as resp:
            if resp.status != 201:
                raise BenchError(f"create MCP config: HTTP {resp.status}: {(await resp.read())[:200]!r}")
    return token


@contextlib.asynccontextmanager
async def devplane_server(
    tmp: Path,
    pg_url: str | None,
    *,
    name: str = "devplane",
    extra_env: dict[str, str] | None = None,
    scratch: bool = True,
) -> AsyncIterator[Server]:
    """A started, signed-in devplane; on PostgreSQL in a fresh database of its own (unless
    `scratch` is False: then `pg_url` must name an empty database)."""
    async with scratch_database(pg_url if scratch else None) as scratch_url:
        url = scratch_url if scratch else pg_url
        proc = start_devplane(tmp, url, name=name, extra_env=extra_env)
        try:
            base = base_url(proc)
            await wait_healthy(proc, base)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as http:
                token = await sign_in(http, base)
            yield Server(proc, base, token, "postgresql" if url else "sqlite")
        finally:
            proc.stop()


@contextlib.asynccontextmanager
async def scratch_database(pg_url: str | None) -> AsyncIterator[str | None]:
    """A new empty database on `pg_url`'s server for one run, dropped afterwards."""
    if not pg_url:
        yield None
        return
    parts = urlsplit(pg_url)
    name = f"devplane_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(urlunsplit(parts._replace(scheme="postgresql")), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(parts._replace(path=f"/{name}"))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def rss_kb(pid: int) -> int:
    """Resident set size of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


# --- the load ------------------------------------------------------------------------------------
async def measure(
    server: Server,
    endpoint: Endpoint | tuple[Endpoint, ...],
    *,
    seconds: float,
    concurrency: int = CONCURRENCY,
    rate: float | None = None,
) -> Stats:
    """`concurrency` clients sending `endpoint` back to back for `seconds` (or, with `rate`,
    paced to about `rate` requests/s in total). Several endpoints: each client cycles through
    them. Errors are counted, not raised."""
    mix = endpoint if isinstance(endpoint, tuple) else (endpoint,)
    name = " + ".join(e.name for e in mix)
    latencies: list[float] = []
    errors = 0
    interval = concurrency / rate if rate else 0.0
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=60)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as http:
        start = time.monotonic()
        deadline = start + seconds
        cap = MAX_REQUESTS // concurrency

        async def client(offset: float) -> None:
            nonlocal errors
            next_at = start + offset
            for sent in range(cap):
                target = mix[sent % len(mix)]
                headers = {"Authorization": f"Bearer {server.token}"} if target.authenticated else {}
                body = {"title": "bench"} if target.write else None
                if interval:
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at += interval
                now = time.monotonic()
                if now >= deadline:
                    return
                try:
                    async with http.request(
                        target.method, server.base + target.path, json=body, headers=headers
                    ) as resp:
                        await resp.read()
                        ok = resp.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                if ok:
                    latencies.append(time.monotonic() - now)
                else:
                    errors += 1

        await asyncio.gather(*(client(i * interval / concurrency) for i in range(concurrency)))
        elapsed = time.monotonic() - start
    return summarize(name, latencies, errors, elapsed)


def summarize(name: str, latencies: list[float], errors: int, elapsed: float) -> Stats:
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        p50, p99 = cuts[49], cuts[98]
    else:
        p50 = p99 = latencies[0] if latencies else 0.0
    return Stats(
        endpoint=name,
        requests=len(latencies),
        errors=errors,
        seconds=round(elapsed, 2),
        rps=round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(p50 * 1000, 2),
        p99_ms=round(p99 * 1000, 2),
    )


# --- the benchmark -------------------------------------------------------------------------------
async def run_one(tmp: Path, pg_url: str | None, seconds: float, warmup: float) -> dict[str, Any]:
    async with devplane_server(tmp / ("pg" if pg_url else "sqlite"), pg_url) as server:
        say(f"{server.database}: devplane pid {server.proc.pid} at {server.base}")
        results: list[Stats] = []
        for endpoint in ENDPOINTS:
            await measure(server, endpoint, seconds=warmup)
            stats = await measure(server, endpoint, seconds=seconds)
            say(f"{server.database}: {endpoint.name}: {stats.rps} req/s, p50 {stats.p50_ms} ms, p99 {stats.p99_ms} ms")
            results.append(stats)
    return verdict(server.database, results)


def verdict(database: str, results: list[Stats]) -> dict[str, Any]:
    healthz = results[0].rps or 1.0
    rows: list[dict[str, Any]] = []
    missed: list[str] = []
    for endpoint, stats in zip(ENDPOINTS, results, strict=True):
        row: dict[str, Any] = asdict(stats)
        row["ratio"] = round(stats.rps / healthz, 3)
        row["tail"] = round(stats.p99_ms / stats.p50_ms, 2) if stats.p50_ms else 0.0
        if endpoint.authenticated:
            target = TARGET_WRITE_RATIO if endpoint.write else TARGET_READ_RATIO
            if row["ratio"] < target:
                missed.append(f"{endpoint.name}: {row['ratio']}x healthz < {target}x")
            if not endpoint.write and row["tail"] > TARGET_TAIL:
                missed.append(f"{endpoint.name}: p99 {row['tail']}x p50 > {TARGET_TAIL}x")
        if stats.errors:
            missed.append(f"{endpoint.name}: {stats.errors} errors")
        rows.append(row)
    return {"database": database, "concurrency": CONCURRENCY, "endpoints": rows, "missed": missed}


def table(reports: list[dict[str, Any]]) -> str:
    lines = []
    for report in reports:
        lines.append(f"\n{report['database']} — {report['concurrency']} concurrent clients")
        lines.append(
            f"{'endpoint':<14} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x healthz':>10} {'p99/p50':>8} {'errors':>7}"
        )
        for row in report["endpoints"]:
            lines.append(
                f"{row['endpoint']:<14} {row['rps']:>9} {row['p50_ms']:>8} {row['p99_ms']:>8} "
                f"{row['ratio']:>10} {row['tail']:>8} {row['errors']:>7}"
            )
        verdict_line = "all targets met" if not report["missed"] else "MISSED: " + "; ".join(report["missed"])
        targets = f"reads >= {TARGET_READ_RATIO}x, p99 <= {TARGET_TAIL}x p50, writes >= {TARGET_WRITE_RATIO}x"
        lines.append(f"targets ({targets}): {verdict_line}")
    return "\n".join(lines)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run api", description="API benchmark (docs/benchmarks.md).")
    parser.add_argument("--small", action="store_true", help="CI size: a few seconds per endpoint.")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON (progress goes to stderr).")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("DEVPLANE_TEST_PG_URL", ""),
        help="Also run on PostgreSQL, in a scratch database on this server (default: $DEVPLANE_TEST_PG_URL).",
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="Measured seconds per endpoint (default 10; 2 small)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temp dir with the process logs.")
    args = parser.parse_args(argv)
    seconds = args.seconds or (2.0 if args.small else 10.0)
    if not 0 < seconds <= 600:
        parser.error("--seconds must be in (0, 600]")
    warmup = 0.5 if args.small else 2.0
    signal.signal(signal.SIGTERM, _interrupt)  # so a killed benchmark still stops its children
    tmp = Path(tempfile.mkdtemp(prefix="devplane-bench-api-"))
    reports: list[dict[str, Any]] = []
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            reports.append(runner.run(run_one(tmp, None, seconds, warmup)))
            if args.pg_url:
                reports.append(runner.run(run_one(tmp, args.pg_url, seconds, warmup)))
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
    print(json.dumps(reports, indent=2) if args.json else table(reports), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
