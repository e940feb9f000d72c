"""Browser tests: Debian's chromium driven by Playwright against a real `devplane server`
subprocess on 127.0.0.1 with a temporary SQLite database.

Without a browser a local run skips (the reason says how to install one); in CI (CI=true) a
missing browser fails, never skips. Every page a test opens is checked for CSP violations and
requests that leave 127.0.0.1, and `assert_accessible` runs axe-core on the CSP-enforced page.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from devplane.crypto.cipher import generate_key
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME

IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
# Records CSP violations from the first script on, before any of the page's own.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || ''));
});
"""


def chromium_path() -> str:
    for candidate in (os.environ.get("DEVPLANE_CHROMIUM", ""), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    reason = "no browser: install Debian's chromium (apt-get install chromium) or set DEVPLANE_CHROMIUM"
    if IN_CI:
        pytest.fail(reason + "; browser tests may not skip in CI")
    pytest.skip(reason)


def axe_source() -> str:
    if not AXE.exists():
        reason = "axe-core missing: run `npm ci` (package.json pins axe-core)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE.read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class DevplaneServer:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def devplane_server() -> Iterator[DevplaneServer]:
    """`devplane server` as users run it, on a free loopback port; stopped by its PID."""
    data_dir = Path(tempfile.mkdtemp(prefix="devplane-e2e-"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DEVPLANE_HTTP_ADDRESS": f"127.0.0.1:{port}",
        "DEVPLANE_ACCESS_URL": url,
        "DEVPLANE_DATA_DIR": str(data_dir),
        "DEVPLANE_PG_URL": "",
        "DEVPLANE_EXPERIMENTS": "agents",
        "DEVPLANE_EXTERNAL_TOKEN_ENCRYPTION_KEYS": generate_key(),
        "DEVPLANE_LOGIN_RATE_LIMIT": "1000",
        "DEVPLANE_MCP_CONNECT_TIMEOUT_SECONDS": "3",
    }
    log = data_dir / "server.log"
    devplane = Path(sys.executable).parent / "devplane"
    with log.open("wb") as out:
        process = subprocess.Popen([str(devplane), "server"], env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603 - our own CLI
    server = DevplaneServer(url=url, process=process, data_dir=data_dir, log=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"devplane server did not start:\n{server.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


# Package scope, not session: the sync Playwright API keeps its event loop marked running in
# this thread while it is open, which would break every async test collected after tests/e2e.
@pytest.fixture(scope="package")
def server() -> Iterator[DevplaneServer]:
    """One server for the browser tests, with the owner already created (setup has its own server)."""
    chromium_path()
    with devplane_server() as srv:
        response = httpx.post(
            f"{srv.url}/api/v2/users/first",
            json={"email": OWNER_EMAIL, "username": OWNER_USERNAME, "password": OWNER_PASSWORD},
        )
        assert response.status_code == 201, response.text
        yield srv


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Guard:
    """What left the machine, and what the CSP refused, across one test's pages."""

    foreign: list[str] = field(default_factory=list)


def new_page(browser: Any, guard: Guard, *, color_scheme: str = "light") -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=color_scheme)
    context.add_init_script(CSP_LISTENER)

    def route(r: Any) -> None:
        host = urlsplit(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            guard.foreign.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def guard() -> Iterator[Guard]:
    g = Guard()
    yield g
    assert g.foreign == [], f"requests left 127.0.0.1: {g.foreign}"


@pytest.fixture
def page(browser: Any, guard: Guard) -> Iterator[Any]:
    p = new_page(browser, guard)
    yield p
    assert_no_csp_violation(p)
    p.context.close()


def assert_no_csp_violation(page: Any) -> None:
    for frame_page in page.context.pages:
        if frame_page.is_closed():
            continue
        violations = frame_page.evaluate("window.__cspViolations || []")
        assert violations == [], f"CSP violations on {frame_page.url}: {violations}"


def assert_accessible(page: Any) -> None:
    """axe-core on the CSP-enforced page (evaluated through CDP, which the page's CSP does not govern)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(r => r.violations.map("
        "v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))",
        AXE_TAGS,
    )
    assert result == [], f"axe violations on {page.url}: {result}"


def sign_in(
    page: Any, base: str, email: str = OWNER_EMAIL, password: str = OWNER_PASSWORD, next_path: str = ""
) -> None:
    page.goto(f"{base}/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
