"""Fault battery, load: hold 70 % of the measured capacity for 30 s (5 s small) on a real
`devplane server`, with 0 errors and resident memory growing under 10 %.

    .venv/bin/python -m bench.faults.scenario_load [--small] [--pg-url URL]

Capacity is what 16 clients get back to back on a mix of the API's reads and a write
(users/me, mcp/servers, create chat); the held load is paced at 70 % of it. RSS is read from
/proc before and after the held load (after a warm-up at full capacity, so allocator pools and
caches are already grown).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.api import ENDPOINTS, devplane_server, measure, rss_kb
from bench.gateway import STARTED

NAME = "load"
DESCRIPTION = "70 % of measured capacity held for 30 s (5 s small): 0 errors, RSS growth < 10 %"
MIX = (ENDPOINTS[1], ENDPOINTS[2], ENDPOINTS[3])  # users/me, mcp/servers, create chat
SHARE = 0.7
MAX_RSS_GROWTH = 0.10


def _say(message: str) -> None:
    print(f"[faults:{NAME}] {message}", flush=True)


async def run(*, small: bool, pg_url: str | None) -> dict[str, float | int | str]:
    held_seconds = 5.0 if small else 30.0
    probe_seconds = 2.0 if small else 5.0
    tmp = Path(tempfile.mkdtemp(prefix="devplane-faults-load-"))
    try:
        async with devplane_server(tmp, pg_url) as server:
            _say(f"{server.database}: devplane pid {server.proc.pid}; measuring capacity for {probe_seconds:g}s")
            await measure(server, MIX, seconds=probe_seconds / 2)  # warm-up
            capacity = await measure(server, MIX, seconds=probe_seconds)
            if capacity.errors:
                raise AssertionError(f"{capacity.errors} errors while measuring capacity (at full load)")
            rate = capacity.rps * SHARE
            rss_before = rss_kb(server.proc.pid)
            _say(f"capacity {capacity.rps} req/s; holding {rate:.1f} req/s for {held_seconds:g}s")
            held = await measure(server, MIX, seconds=held_seconds, rate=rate)
            rss_after = rss_kb(server.proc.pid)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    growth = (rss_after - rss_before) / rss_before
    figures: dict[str, float | int | str] = {
        "database": server.database,
        "capacity_rps": capacity.rps,
        "target_rps": round(rate, 1),
        "held_rps": held.rps,
        "held_seconds": held.seconds,
        "requests": held.requests,
        "errors": held.errors,
        "p50_ms": held.p50_ms,
        "p99_ms": held.p99_ms,
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
        "rss_growth_pct": round(growth * 100, 2),
    }
    _say(", ".join(f"{k}={v}" for k, v in figures.items()))
    if held.errors:
        raise AssertionError(f"load: {held.errors} errors at 70 % of capacity (bar: 0)")
    if growth >= MAX_RSS_GROWTH:
        raise AssertionError(f"load: RSS grew {growth:.1%} ({rss_before} -> {rss_after} kB; bar: < 10 %)")
    if held.rps < rate * 0.6:
        # The server (or this machine) could not keep up with 70 % of what it did at full load.
        raise AssertionError(f"load: served {held.rps} req/s of the {rate:.1f} req/s asked")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults.scenario_load", description=DESCRIPTION)
    parser.add_argument("--small", action="store_true", help="CI size (5 s held).")
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
