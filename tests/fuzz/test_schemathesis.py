"""Schemathesis over every operation of the OpenAPI document, as an owner and as a member.

A real uvicorn server on 127.0.0.1 (tests/live.py) on the test database (SQLite, or PostgreSQL
in CI's PostgreSQL leg), experiment `agents` on; `st run` (the schemathesis CLI, pinned in the
lock file) in a subprocess with the issue's checks and its stateful phase, which follows the
document's links from each create to its reads and writes (devplane/api/openapi_extras.py).
Any finding fails the test, with schemathesis's report (and the command that reproduces it).

Opt-in, because it is spent time rather than a fixed set of cases: `./scripts/dev fuzz`, or
set DEVPLANE_FUZZ_SECONDS (the time budget per role; .ci/run sets it in its fuzz step on both
databases). DEVPLANE_FUZZ_SEED replays a run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devplane.config import Settings
from devplane.sdk.client import Client
from devplane.sdk.users import CreateFirstUserRequest, LoginRequest
from tests.factories import MEMBER_PASSWORD, OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME, make_user
from tests.live import live_server

SECONDS = os.environ.get("DEVPLANE_FUZZ_SECONDS", "")
SEED = os.environ.get("DEVPLANE_FUZZ_SEED", "20261202")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Operations left out, each with its reason. Nothing else is excluded.
EXCLUDED_PATHS = {
    # Deletes the very token the fuzzer authenticates with: every later request would be a 401
    # and the run would test nothing. tests/api/test_auth.py covers logout.
    "/api/v2/users/logout": "ends the fuzzer's own session",
}

# Two roles, each its budget plus setup and shrinking: above pytest-timeout's default.
pytestmark = [
    pytest.mark.skipif(
        not SECONDS, reason="fuzzing is opt-in: ./scripts/dev fuzz, or set DEVPLANE_FUZZ_SECONDS (CI's fuzz step does)"
    ),
    pytest.mark.timeout(int(float(SECONDS or 0) * 4 + 300)),
]


async def _tokens(url: str) -> dict[str, str]:
    async with Client(url) as owner:
        await owner.create_first_user(
            CreateFirstUserRequest(email=OWNER_EMAIL, username=OWNER_USERNAME, password=OWNER_PASSWORD)
        )
        await owner.login(LoginRequest(email=OWNER_EMAIL, password=OWNER_PASSWORD))
        member = await make_user(owner, username="fuzz-member")
        # API keys, not sessions: a key outlives the fuzzer's own session-ending requests.
        owner_key = await owner.create_api_key("me")
        async with Client(url) as as_member:
            await as_member.login(LoginRequest(email=f"{member.username}@example.com", password=MEMBER_PASSWORD))
            member_key = await as_member.create_api_key("me")
    return {"owner": owner_key, "member": member_key}


def _st(url: str, token: str, report: Path) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).parent / "st"
    argv = [
        str(st),
        "run",
        f"{url}/api/v2/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-time",
        SECONDS,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(report),
    ]
    for path in EXCLUDED_PATHS:
        argv += ["--exclude-path", path]
    # The budget covers the phases; setup, shrinking and the report come on top.
    timeout = float(SECONDS) + 120
    return subprocess.run(  # noqa: S603 (argv is ours, no shell)
        argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=report
    )


def test_schemathesis_finds_nothing(settings: Settings, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"login_rate_limit": 100_000})
    with live_server(settings) as server:
        tokens = asyncio.run(_tokens(server.url))
        failures = []
        for role, token in tokens.items():
            report = tmp_path / role
            report.mkdir()
            result = _st(server.url, token, report)
            # Shown with -s, and in CI's log: what ran, how long, and the warnings.
            sys.stdout.write(f"--- schemathesis as {role} (exit {result.returncode})\n{result.stdout[-4000:]}\n")
            assert "Operations:" in result.stdout, f"schemathesis did not run as {role}:\n{result.stderr[-4000:]}"
            if result.returncode != 0:
                # Lines cut short: a reproducing curl can carry a megabyte of generated body.
                report_text = "\n".join(line[:400] for line in result.stdout.splitlines())
                failures.append(f"as {role} (seed {SEED}):\n{report_text[-12000:]}\n{result.stderr[-2000:]}")
    assert not failures, "schemathesis found problems\n" + "\n\n".join(failures)
