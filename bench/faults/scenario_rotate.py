"""`devplane dbcrypt rotate` while the API is writing secrets: no request fails, no row is left
on the old key.

The documented rotation: the servers restart with the new key first and the old one after it
(new writes use the new key, old rows still decrypt), then `devplane dbcrypt rotate`
re-encrypts the old rows in batches (compare-and-set) and revokes the old key, which it can
only do when no row uses it any more (a foreign key refuses otherwise). Here the rotation runs
in its own process while writers create and update MCP server configs with API-key secrets
and read them back; every request must succeed, and the old key must end up revoked.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.faults.harness import Database, fresh_database, latency_figures, make_owner, ready, say, start_server
from bench.gateway import child_env
from devplane.crypto.cipher import generate_key, key_digest, parse_key

NAME = "rotate"
DESCRIPTION = "dbcrypt rotate under write load: 0 request errors, 0 rows left on the old key"

WRITERS = 4
BATCH_SIZE = 10  # small batches: many rotation transactions interleave with the writers


def _config(slug: str) -> dict[str, Any]:
    return {
        "display_name": slug,
        "slug": slug,
        "transport": "streamable_http",
        "url": "http://127.0.0.1:9/mcp",  # never contacted: the configs only carry secrets here
        "auth_type": "api_key",
        "api_key_header": "X-Api-Key",
        "api_key_value": f"secret-{slug}",
        "availability": "default_off",
        "enabled": False,
    }


def _cli(db: Database, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = child_env()
    env.update(db.env())
    devplane = Path(sys.executable).parent / "devplane"
    return subprocess.run(  # noqa: S603 (argv is ours, no shell)
        [str(devplane), "dbcrypt", *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def run(*, small: bool, pg_url: str | None) -> dict[str, float | int | str]:
    seeded = 40 if small else 400
    tail_seconds = 1.0 if small else 5.0
    errors: list[str] = []
    latencies: list[float] = []
    writes = 0
    ids: list[str] = []
    with tempfile.TemporaryDirectory(prefix="devplane-faults-") as tmp_name:
        tmp = Path(tmp_name)
        async with fresh_database(tmp, pg_url) as db:
            old_key = db.keys[0]
            old_digest = key_digest(parse_key(old_key))
            server = await ready(start_server(tmp, "devplane-old-key", db))
            owner = await make_owner(server.url)
            auth = {"Authorization": f"Bearer {owner.token}"}
            base = f"{server.url}/api/experimental/mcp/servers"
            async with aiohttp.ClientSession(headers=auth, timeout=aiohttp.ClientTimeout(total=60)) as api:
                for i in range(seeded):
                    async with api.post(base, json=_config(f"seed{i}")) as resp:
                        assert resp.status == 201, f"seeding: {resp.status} {await resp.text()}"
                        ids.append(str((await resp.json())["id"]))
            server.proc.stop()
            say(NAME, f"seeded {seeded} configs on key {old_digest}; restarting with a new primary key")

            db.keys = [generate_key(), old_key]
            server = await ready(start_server(tmp, "devplane-new-key", db))
            base = f"{server.url}/api/experimental/mcp/servers"
            stop = asyncio.Event()

            async def writer(n: int, api: aiohttp.ClientSession) -> None:
                nonlocal writes
                i = 0
                while not stop.is_set() and i < 100_000:
                    i += 1
                    slug = f"w{n}x{i}"
                    for method, url, body in (
                        ("POST", base, _config(slug)),
                        ("PATCH", f"{base}/{ids[(n * 7919 + i) % seeded]}", {"api_key_value": f"rotated-{slug}"}),
                        ("GET", f"{base}/{ids[i % seeded]}", None),
                    ):
                        started = time.perf_counter()
                        try:
                            async with api.request(method, url, json=body) as resp:
                                await resp.read()
                                if resp.status >= 300:
                                    errors.append(f"{method} {url}: {resp.status} {(await resp.text())[:200]}")
                        except (aiohttp.ClientError, TimeoutError) as exc:
                            errors.append(f"{method} {url}: {type(exc).__name__} {exc}")
                        latencies.append(time.perf_counter() - started)
                        writes += method != "GET"

            async with aiohttp.ClientSession(headers=auth, timeout=aiohttp.ClientTimeout(total=60)) as api:
                tasks = [asyncio.create_task(writer(n, api)) for n in range(WRITERS)]
                try:
                    await asyncio.sleep(0.5)
                    say(NAME, "writers running; starting `devplane dbcrypt rotate`")
                    started = time.monotonic()
                    rotation = await asyncio.to_thread(_cli, db, "rotate", "--batch-size", str(BATCH_SIZE), timeout=300)
                    rotate_seconds = time.monotonic() - started
                    say(NAME, f"rotation done in {rotate_seconds:.1f} s; {writes} writes so far")
                    await asyncio.sleep(tail_seconds)
                finally:
                    stop.set()
                    await asyncio.gather(*tasks)
            # A revoked key may not stay in the list (start-up refuses it): the operator's next step.
            db.keys = db.keys[:1]
            status = await asyncio.to_thread(_cli, db, "status", timeout=60)
            server_log = server.proc.log_tail(40)
            server.proc.stop()

    assert rotation.returncode == 0, f"dbcrypt rotate failed ({rotation.returncode}):\n{rotation.stderr[-2000:]}"
    result = json.loads(rotation.stdout)
    reencrypted = sum(int(v) for v in result["reencrypted"].values())
    assert status.returncode == 0, f"dbcrypt status failed:\n{status.stderr[-2000:]}"
    keys = json.loads(status.stdout)["keys"]
    assert not errors, (
        f"{len(errors)} request(s) failed during the rotation; first: {errors[:3]}\nserver log:\n{server_log}"
    )
    # Revocation is refused while any row still references the key: revoked means none is left.
    assert old_digest in result["revoked"], f"rotate did not revoke the old key {old_digest}: {result}"
    still_active = [k for k in keys if k["active_key_digest"] == old_digest]
    assert not still_active, f"the old key {old_digest} is still active: {still_active}"
    # Fewer than `seeded` is expected: the writers' PATCHes re-encrypt some seeds first.
    figures: dict[str, float | int | str] = {
        "seeded_configs": seeded,
        "reencrypted_values": reencrypted,
        "rotate_seconds": round(rotate_seconds, 2),
        "writes_during": writes,
        "request_errors": len(errors),
    }
    figures.update(latency_figures("request", latencies))
    return figures
