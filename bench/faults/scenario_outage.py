"""Fault battery, database outage: 4 clients mix reads and chat creation on a real
`devplane server` while the database goes away for 8 s (3 s small) and comes back.

    .venv/bin/python -m bench.faults.scenario_outage [--small] [--pg-url URL]

PostgreSQL: the server reaches it through a TCP proxy on 127.0.0.1 that is cut (connections
reset, new ones refused) and restored; the machine's PostgreSQL server keeps running.
SQLite: another connection holds the database's write lock (BEGIN EXCLUSIVE) meanwhile; reads
need no lock in WAL mode, so only writes are refused.
Bars: every answer is 2xx or 503 (never a 500, never a reset connection), a 503 carries
Retry-After, requests succeed again once the database is back, and the chats that exist at the
end are exactly the ones whose creation was acknowledged (none lost, none left by a failure).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bench.api import CHATS, Server, devplane_server, scratch_database
from bench.gateway import STARTED
from tests.fixtures.tcp_proxy import TcpProxy, tcp_proxy

NAME = "outage"
DESCRIPTION = "database away for 8 s (3 s small) under reads and writes: 503s only, recovery, no lost write"
CLIENTS = 4
DB_TIMEOUT = 2.0  # the server's database timeout here, so a refusal comes quickly
REQUEST_TIMEOUT = 30.0
RECOVERY_SECONDS = 15.0  # the first success after the database is back must come within this
MAX_REQUESTS_PER_CLIENT = 100_000


def _say(message: str) -> None:
    print(f"[faults:{NAME}] {message}", flush=True)


class Tally:
    def __init__(self) -> None:
        self.statuses: collections.Counter[int] = collections.Counter()
        self.resets = 0
        self.missing_retry_after = 0
        self.acknowledged: set[str] = set()
        self.successes: list[float] = []  # monotonic times of 2xx answers


async def _client(server: Server, tally: Tally, index: int, stop: float) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    connector = aiohttp.TCPConnector(limit=1, keepalive_timeout=60)  # one keep-alive connection
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as http:
        for sent in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= stop:
                return
            write = (sent + index) % 3 == 0
            method, path = ("POST", CHATS) if write else ("GET", "/api/v2/users/me")
            try:
                async with http.request(
                    method, server.base + path, json={"title": f"c{index}-{sent}"} if write else None, headers=headers
                ) as resp:
                    body = await resp.json(content_type=None)
                    tally.statuses[resp.status] += 1
                    if resp.status == 503 and not resp.headers.get("Retry-After", "").isdigit():
                        tally.missing_retry_after += 1
                    if resp.status < 300:
                        tally.successes.append(time.monotonic())
                        if write:
                            tally.acknowledged.add(str(body["id"]))
            except (aiohttp.ClientError, TimeoutError):
                tally.resets += 1
            await asyncio.sleep(0.01)


@contextlib.contextmanager
def _sqlite_locked(data_dir: Path) -> Iterator[None]:
    holder = sqlite3.connect(data_dir / "devplane.db", timeout=10, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def run(*, small: bool, pg_url: str | None) -> dict[str, float | int | str]:
    before, away, after = (2.0, 3.0, 4.0) if small else (3.0, 8.0, 6.0)
    tmp = Path(tempfile.mkdtemp(prefix="devplane-faults-outage-"))
    env = {"DEVPLANE_DATABASE_TIMEOUT_SECONDS": str(DB_TIMEOUT)}
    tally = Tally()
    try:
        async with contextlib.AsyncExitStack() as stack:
            proxy: TcpProxy | None = None
            url: str | None = None
            if pg_url:
                scratch = await stack.enter_async_context(scratch_database(pg_url))
                assert scratch is not None
                parts = urlsplit(scratch)
                proxy = stack.enter_context(tcp_proxy(parts.hostname or "127.0.0.1", parts.port or 5432))
                userinfo = parts.netloc.rpartition("@")[0]
                host = f"127.0.0.1:{proxy.port}"
                url = urlunsplit(parts._replace(netloc=f"{userinfo}@{host}" if userinfo else host))
            server = await stack.enter_async_context(devplane_server(tmp, url, extra_env=env, scratch=False))
            _say(f"{server.database}: devplane pid {server.proc.pid}; {CLIENTS} clients, database away for {away:g}s")
            start = time.monotonic()
            stop = start + before + away + after
            clients = asyncio.gather(*(_client(server, tally, i, stop) for i in range(CLIENTS)))
            await asyncio.sleep(before)
            if proxy is not None:
                proxy.cut()
                await asyncio.sleep(away)
                back = time.monotonic()
                proxy.restore()
            else:
                with _sqlite_locked(tmp / "devplane-data"):
                    await asyncio.sleep(away)
                back = time.monotonic()
            await clients
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as http,
                http.get(server.base + CHATS, headers={"Authorization": f"Bearer {server.token}"}) as resp,
            ):
                stored = {str(chat["id"]) for chat in await resp.json()}
            async with aiohttp.ClientSession() as http, http.get(server.base + "/readyz") as ready:
                ready_status = ready.status
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    recovered = min((t for t in tally.successes if t >= back), default=None)
    figures: dict[str, float | int | str] = {
        "database": server.database,
        "seconds_away": away,
        "answers": sum(tally.statuses.values()),
        "answers_2xx": sum(n for code, n in tally.statuses.items() if code < 300),
        "answers_503": tally.statuses[503],
        "answers_500": tally.statuses[500],
        "other_errors": sum(n for code, n in tally.statuses.items() if code >= 300 and code != 503),
        "resets": tally.resets,
        "writes_acknowledged": len(tally.acknowledged),
        "writes_stored": len(stored),
        "recovered_after_s": round(recovered - back, 2) if recovered else -1,
        "readyz_after": ready_status,
    }
    _say(", ".join(f"{k}={v}" for k, v in figures.items()))
    problems = []
    if figures["other_errors"]:
        problems.append(f"non-503 error answers: {dict(tally.statuses)}")
    if tally.resets:
        problems.append(f"{tally.resets} requests failed without an answer (reset or timeout)")
    if tally.missing_retry_after:
        problems.append(f"{tally.missing_retry_after} 503s without Retry-After")
    if not tally.statuses[503]:
        problems.append("no 503 at all: the outage was not seen")
    if recovered is None or recovered - back > RECOVERY_SECONDS:
        problems.append("no successful request after the database came back")
    if tally.acknowledged - stored:
        problems.append(f"{len(tally.acknowledged - stored)} acknowledged chats lost")
    if stored - tally.acknowledged:
        problems.append(f"{len(stored - tally.acknowledged)} chats stored whose creation failed")
    if ready_status != 200:
        problems.append(f"/readyz answers {ready_status} after recovery")
    if problems:
        raise AssertionError("outage: " + "; ".join(problems))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults.scenario_outage", description=DESCRIPTION)
    parser.add_argument("--small", action="store_true", help="CI size (3 s outage).")
    parser.add_argument("--pg-url", default=os.environ.get("DEVPLANE_TEST_PG_URL", ""), help="Run on PostgreSQL.")
    args = parser.parse_args(argv)
    try:
        asyncio.run(run(small=args.small, pg_url=args.pg_url or None))
    except AssertionError as exc:
        _say(f"FAILED: {exc}")
        return 1
    finally:
        for proc in reversed(STARTED):
            proc.stop()
    _say("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
