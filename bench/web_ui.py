"""Web UI figures (docs/benchmarks.md) and screenshots, in headless Debian chromium against a real
`devplane server` on 127.0.0.1 with a temporary SQLite database.

    python -m bench.web_ui                      # JS+CSS gzip per page, median FCP of /admin/mcp-servers (50 servers)
    python -m bench.web_ui --screenshots docs/ui  # PNGs of every page, light and dark, 1280x800

Figures are printed, never asserted (the machine's load decides absolute times).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from devplane.crypto.cipher import generate_key

OWNER = {"email": "owner@example.com", "username": "owner", "password": "Owner-pass-1234"}
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = {
    "login": "/login",
    "chats": "/chats",
    "chat": "/chats/{chat}",
    "mcp-servers": "/admin/mcp-servers",
    "mcp-server-new": "/admin/mcp-servers/new",
    "mcp-server-edit": "/admin/mcp-servers/{server}",
    "users": "/admin/users",
    "audit": "/admin/audit",
    "tokens": "/account/tokens",
    "connections": "/account/connections",
}
FCP_JS = """() => new Promise(resolve => {
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') resolve(e.startTime);
  }).observe({type: 'paint', buffered: true});
})"""


@contextlib.contextmanager
def running_server() -> Iterator[str]:
    data_dir = Path(tempfile.mkdtemp(prefix="devplane-bench-web-"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DEVPLANE_HTTP_ADDRESS": f"127.0.0.1:{port}",
        "DEVPLANE_ACCESS_URL": url,
        "DEVPLANE_DATA_DIR": str(data_dir),
        "DEVPLANE_PG_URL": "",
        "DEVPLANE_EXPERIMENTS": "agents",
        "DEVPLANE_EXTERNAL_TOKEN_ENCRYPTION_KEYS": generate_key(),
        "DEVPLANE_LOG_LEVEL": "warning",
    }
    devplane = Path(sys.executable).parent / "devplane"
    process = subprocess.Popen([str(devplane), "server"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - our own CLI
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("devplane server did not start")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


def seed(url: str, servers: int) -> dict[str, str]:
    """The owner, `servers` MCP servers (unreachable, so health shows an error), a chat, a member."""
    assert httpx.post(f"{url}/api/v2/users/first", json=OWNER).status_code == 201
    token = httpx.post(f"{url}/api/v2/users/login", json=OWNER).json()["session_token"]
    ids: dict[str, str] = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        for i in range(servers):
            body: dict[str, Any] = {
                "display_name": f"Server {i:02d}",
                "slug": f"server-{i:02d}",
                "description": "An example MCP server",
                "transport": "streamable_http" if i % 3 else "sse",
                "url": f"http://127.0.0.1:9/mcp/{i}",
                "auth_type": ("none", "api_key", "oauth2", "custom_headers")[i % 4],
                "availability": ("default_on", "default_off", "force_on")[i % 3],
                "enabled": i % 5 != 4,
            }
            if body["auth_type"] == "api_key":
                body.update(api_key_header="X-Api-Key", api_key_value="example-key")
            elif body["auth_type"] == "oauth2":
                body.update(
                    {
                        "oauth2_client_id": "client",
                        "oauth2_client_secret": "example-client-secret",
                        "oauth2_auth_url": "http://127.0.0.1:9/authorize",
                        "oauth2_token_url": "http://127.0.0.1:9/token",
                    }
                )
            elif body["auth_type"] == "custom_headers":
                body.update(custom_headers={"X-Team": "example"})
            ids["server"] = api.post("/api/experimental/mcp/servers", json=body).json()["id"]
        ids["chat"] = api.post("/api/experimental/chats", json={"title": "Release notes"}).json()["id"]
        api.post(
            "/api/v2/users",
            json={"email": "mia@example.com", "username": "mia", "password": "Member-pass-1234", "roles": ["auditor"]},
        )
        api.post("/api/v2/users/me/keys", json={"name": "laptop", "lifetime_seconds": 7 * 86400})
    return ids


def sign_in(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(OWNER["email"])
    page.get_by_label("Password").fill(OWNER["password"])
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    return page


def measure(browser: Any, url: str, ids: dict[str, str], loads: int) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = sign_in(context, url)
    sizes: dict[str, tuple[int, int]] = {}
    for name, path in PAGES.items():
        page.goto(url + path.format(**ids))
        page.wait_for_load_state("networkidle")
        assets = page.evaluate(
            "performance.getEntriesByType('resource').map(e => e.name).filter(n => /\\.(js|css)$/.test(n))"
        )
        raw = gz = 0
        for asset in assets:
            body = httpx.get(asset).content
            raw += len(body)
            gz += len(gzip.compress(body, compresslevel=6))
        sizes[name] = (raw, gz)
    worst = max(sizes.items(), key=lambda kv: kv[1][1])
    print("JS+CSS per page (gzip / raw, KB):")
    for name, (raw, gz) in sizes.items():
        print(f"  {name:16s} {gz / 1024:6.1f} / {raw / 1024:6.1f}")
    print(f"  largest: {worst[0]} {worst[1][1] / 1024:.1f} KB gzip (target < 60 KB)")
    fcps = []
    for _ in range(loads):
        fresh = context.new_page()
        fresh.goto(url + "/admin/mcp-servers")
        fcps.append(float(fresh.evaluate(FCP_JS)))
        fresh.close()
    print(
        f"FCP /admin/mcp-servers ({len(fcps)} loads): median {statistics.median(fcps):.0f} ms, "
        f"min {min(fcps):.0f}, max {max(fcps):.0f} (target < 500 ms)"
    )
    context.close()


def screenshots(browser: Any, url: str, ids: dict[str, str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
        page = sign_in(context, url)
        for name, path in PAGES.items():
            if name == "login":
                continue
            page.goto(url + path.format(**ids))
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / f"{name}-{scheme}.png"))
        context.close()
        anonymous = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
        login = anonymous.new_page()
        login.goto(f"{url}/login")
        login.screenshot(path=str(out / f"login-{scheme}.png"))
        anonymous.close()
    print(f"wrote {len(list(out.glob('*.png')))} screenshots to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=50, help="MCP servers to register (default 50)")
    parser.add_argument("--loads", type=int, default=5, help="page loads for the FCP median (default 5)")
    parser.add_argument("--screenshots", type=Path, help="write PNGs into this directory instead of measuring")
    parser.add_argument("--chromium", default=os.environ.get("DEVPLANE_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    if not Path(args.chromium).exists():
        raise SystemExit(f"no browser at {args.chromium}: apt-get install chromium (or set DEVPLANE_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with running_server() as url, sync_playwright() as p:
        ids = seed(url, args.servers if not args.screenshots else 8)
        browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            if args.screenshots:
                screenshots(browser, url, ids, args.screenshots)
            else:
                measure(browser, url, ids, args.loads)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
