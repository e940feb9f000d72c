"""100 MCP tool calls hang on a deaf upstream; devplane's /healthz must not notice.

A deaf upstream (`bench.upstream --deaf-calls`: answers initialize and tools/list, never a
tools/call) is the default_on MCP server of a chat. 100 clients call its tool through
`POST /api/experimental/chats/{id}/tools/call` and wait (the call timeout is set far beyond the
scenario). While all 100 hang, sequential `GET /healthz` requests on one keep-alive connection
must keep a p99 under 50 ms: a hung upstream holds no worker, thread, lock or pool connection
that liveness needs. The baseline (the same requests before the calls) is printed for scale.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.faults.harness import fresh_database, latency_figures, make_owner, ready, say, start_server
from bench.gateway import percentile, start_upstream, upstream_port

NAME = "hanging_calls"
DESCRIPTION = "100 tool calls hang on a deaf MCP upstream while /healthz p99 stays under 50 ms"

HANGING = 100
P99_BAR_MS = 50.0
SETTLE_SECONDS = 3.0  # for the 100 calls to reach the upstream before measuring


async def _healthz(http: aiohttp.ClientSession, url: str, count: int, cap: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + cap
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        async with http.get(f"{url}/healthz") as resp:
            await resp.read()
            assert resp.status == 200, f"/healthz answered {resp.status}"
        latencies.append(time.perf_counter() - started)
    return latencies


async def run(*, small: bool, pg_url: str | None) -> dict[str, float | int | str]:
    probes = 300 if small else 2000
    with tempfile.TemporaryDirectory(prefix="devplane-faults-") as tmp_name:
        tmp = Path(tmp_name)
        upstream = start_upstream(tmp, "deaf-upstream", "--deaf-calls", "--json-response")
        async with fresh_database(tmp, pg_url) as db:
            server = start_server(tmp, "devplane", db, DEVPLANE_MCP_CALL_TIMEOUT_SECONDS="3600")
            try:
                port = await upstream_port(upstream, tmp)
                await ready(server)
                owner = await make_owner(server.url)
                auth = {"Authorization": f"Bearer {owner.token}"}
                timeout = aiohttp.ClientTimeout(total=60)
                async with aiohttp.ClientSession(headers=auth, timeout=timeout) as api:
                    config = {
                        "display_name": "Deaf",
                        "slug": "deaf",
                        "transport": "streamable_http",
                        "url": f"http://127.0.0.1:{port}/mcp",
                        "auth_type": "none",
                        "availability": "default_on",
                        "enabled": True,
                    }
                    async with api.post(f"{server.url}/api/experimental/mcp/servers", json=config) as resp:
                        assert resp.status == 201, f"create MCP server: {resp.status} {await resp.text()}"
                    async with api.post(f"{server.url}/api/experimental/chats", json={"title": "hang"}) as resp:
                        assert resp.status == 201, f"create chat: {resp.status} {await resp.text()}"
                        chat_id = (await resp.json())["id"]
                    async with api.get(f"{server.url}/api/experimental/chats/{chat_id}/tools") as resp:
                        tools = [t["name"] for t in (await resp.json())["tools"]]
                    assert "deaf__echo" in tools, f"the deaf upstream's tool is not in the chat's catalog: {tools}"

                # One keep-alive connection for the probes, separate from the callers' pool.
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as probe:
                    baseline = await _healthz(probe, server.url, probes, cap=60)
                    say(NAME, f"baseline /healthz p99 {percentile(baseline, 0.99) * 1000:.1f} ms")

                    callers = aiohttp.ClientSession(
                        headers=auth,
                        timeout=aiohttp.ClientTimeout(total=3600),
                        connector=aiohttp.TCPConnector(limit=HANGING + 10),
                    )
                    call_url = f"{server.url}/api/experimental/chats/{chat_id}/tools/call"

                    async def call() -> int:
                        async with callers.post(
                            call_url, json={"name": "deaf__echo", "arguments": {"text": "hi"}}
                        ) as r:
                            await r.read()
                            return r.status

                    calls = [asyncio.create_task(call()) for _ in range(HANGING)]
                    try:
                        await asyncio.sleep(SETTLE_SECONDS)
                        early = [t for t in calls if t.done()]
                        assert not early, (
                            f"{len(early)} of {HANGING} tool calls returned instead of hanging "
                            f"(first: {early[0].result() if not early[0].exception() else early[0].exception()!r})"
                        )
                        say(NAME, f"{HANGING} tool calls hanging; probing /healthz {probes} times")
                        loaded = await _healthz(probe, server.url, probes, cap=120)
                        finished = sum(t.done() for t in calls)
                    finally:
                        for task in calls:
                            task.cancel()
                        await asyncio.gather(*calls, return_exceptions=True)
                        await callers.close()
                    assert finished == 0, f"{finished} tool calls finished while the upstream was deaf"
                    # Disconnected callers must not wedge the server either.
                    after = await _healthz(probe, server.url, 20, cap=30)
                    assert len(after) == 20, "devplane stopped answering after the callers hung up"
            finally:
                # The upstream first: devplane's 100 upstream calls then fail at once instead of
                # holding its graceful shutdown until Proc.stop's kill.
                upstream.stop()
                server.proc.stop()
    figures: dict[str, float | int | str] = {"hanging_calls": HANGING}
    figures.update(latency_figures("baseline_healthz", baseline))
    figures.update(latency_figures("healthz", loaded))
    p99 = float(figures["healthz_p99_ms"])
    assert len(loaded) == probes, f"only {len(loaded)} of {probes} /healthz probes ran within the time cap"
    assert p99 < P99_BAR_MS, f"/healthz p99 {p99:.1f} ms with {HANGING} hanging calls (bar: < {P99_BAR_MS:g} ms)"
    return figures
