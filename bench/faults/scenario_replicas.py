"""Two `devplane server` replicas on one PostgreSQL database; one is killed (SIGKILL, by PID)
mid-load. Only the requests in flight on the killed replica may fail; the other replica serves
on without an error, and every write either replica acknowledged is there afterwards.

Each replica has its own clients, each with one request in flight at a time (create a chat,
then read it back), so "in flight at the kill" is at most one request per client of the
killed replica. Once the kill is sent its clients stop, like a load balancer taking it out.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.faults.harness import Skipped, fresh_database, latency_figures, make_owner, ready, say, start_server

NAME = "replicas"
DESCRIPTION = "two replicas on one PostgreSQL, one SIGKILLed mid-load: only its in-flight requests fail"

CLIENTS_PER_REPLICA = 4


@dataclass
class Tally:
    ok: int = 0
    ok_after_kill: int = 0
    failures: list[str] = field(default_factory=list)
    failed_after_kill_started: int = 0  # failed requests sent after the kill (must be 0)
    acknowledged: list[str] = field(default_factory=list)  # chat ids answered 201
    latencies: list[float] = field(default_factory=list)


async def run(*, small: bool, pg_url: str | None) -> dict[str, float | int | str]:
    if not pg_url:
        raise Skipped("needs PostgreSQL (replicas share one database; SQLite is one process's file): pass --pg-url")
    warmup = 2.0 if small else 10.0
    tail = 3.0 if small else 10.0
    tallies = {"killed": Tally(), "survivor": Tally()}
    killed_at: float | None = None
    with tempfile.TemporaryDirectory(prefix="devplane-faults-") as tmp_name:
        tmp = Path(tmp_name)
        async with fresh_database(tmp, pg_url) as db:
            # One after the other: the first migrates the database, the second finds it current.
            victim = await ready(start_server(tmp, "replica-killed", db))
            survivor = await ready(start_server(tmp, "replica-survivor", db))
            try:
                owner = await make_owner(victim.url)
                auth = {"Authorization": f"Bearer {owner.token}"}
                stop = asyncio.Event()

                async def client(url: str, tally: Tally, stops_at_kill: bool) -> None:
                    async with aiohttp.ClientSession(headers=auth, timeout=aiohttp.ClientTimeout(total=30)) as http:
                        for i in range(100_000):
                            if stop.is_set() or (stops_at_kill and killed_at is not None):
                                return
                            sent = time.monotonic()
                            try:
                                async with http.post(f"{url}/api/experimental/chats", json={"title": f"c{i}"}) as r:
                                    body = await r.json(content_type=None)
                                    assert r.status == 201, f"create chat: {r.status} {body}"
                                    chat_id = str(body["id"])
                                tally.acknowledged.append(chat_id)
                                async with http.get(f"{url}/api/experimental/chats/{chat_id}") as r:
                                    await r.read()
                                    assert r.status == 200, f"read chat: {r.status}"
                            except (aiohttp.ClientError, TimeoutError, AssertionError) as exc:
                                tally.failures.append(f"{type(exc).__name__}: {exc}")
                                if killed_at is not None and sent > killed_at:
                                    tally.failed_after_kill_started += 1
                                continue
                            tally.ok += 1
                            tally.latencies.append(time.monotonic() - sent)
                            if killed_at is not None and sent > killed_at:
                                tally.ok_after_kill += 1

                tasks = [
                    asyncio.create_task(client(victim.url, tallies["killed"], stops_at_kill=True))
                    for _ in range(CLIENTS_PER_REPLICA)
                ] + [
                    asyncio.create_task(client(survivor.url, tallies["survivor"], stops_at_kill=False))
                    for _ in range(CLIENTS_PER_REPLICA)
                ]
                try:
                    await asyncio.sleep(warmup)
                    say(NAME, f"killing replica pid {victim.proc.pid} (SIGKILL) mid-load")
                    killed_at = time.monotonic()
                    os.kill(victim.proc.pid, signal.SIGKILL)
                    await asyncio.sleep(tail)
                finally:
                    stop.set()
                    await asyncio.gather(*tasks)
                # Every acknowledged write, from either replica, is readable from the survivor.
                acknowledged = set(tallies["killed"].acknowledged) | set(tallies["survivor"].acknowledged)
                timeout = aiohttp.ClientTimeout(total=60)
                async with (
                    aiohttp.ClientSession(headers=auth, timeout=timeout) as http,
                    http.get(f"{survivor.url}/api/experimental/chats") as r,
                ):
                    assert r.status == 200, f"list chats on the survivor: {r.status}"
                    stored = {str(c["id"]) for c in await r.json()}
                survivor_alive = survivor.proc.running()
            finally:
                survivor.proc.stop()
                victim.proc.stop()
    killed, alive = tallies["killed"], tallies["survivor"]
    lost = acknowledged - stored
    assert survivor_alive, "the surviving replica exited"
    assert not alive.failures, f"{len(alive.failures)} request(s) failed on the surviving replica: {alive.failures[:3]}"
    assert alive.ok_after_kill > 0, "the surviving replica answered nothing after the kill"
    assert killed.failed_after_kill_started == 0, "requests sent to the killed replica after the kill were counted"
    assert len(killed.failures) <= CLIENTS_PER_REPLICA, (
        f"{len(killed.failures)} requests failed on the killed replica, more than the "
        f"{CLIENTS_PER_REPLICA} that can have been in flight: {killed.failures[:5]}"
    )
    assert not lost, f"{len(lost)} acknowledged chat(s) are missing after the kill: {sorted(lost)[:5]}"
    figures: dict[str, float | int | str] = {
        "killed_ok": killed.ok,
        "killed_in_flight_failures": len(killed.failures),
        "survivor_ok": alive.ok,
        "survivor_ok_after_kill": alive.ok_after_kill,
        "survivor_failures": len(alive.failures),
        "acknowledged_writes": len(acknowledged),
        "lost_writes": len(lost),
    }
    figures.update(latency_figures("survivor", alive.latencies))
    return figures
