"""The fault battery's runner (bench/faults/__main__.py): discovery, verdicts, exit status."""

from __future__ import annotations

import types
from typing import Any

import pytest

from bench.faults import __main__ as runner
from bench.faults.harness import Skipped


def _module(name: str, body: Any) -> types.ModuleType:
    module = types.ModuleType(f"bench.faults.scenario_{name}")
    module.NAME = name  # type: ignore[attr-defined]  # a scenario module's interface, built by hand
    module.DESCRIPTION = f"{name} scenario"  # type: ignore[attr-defined]  # as above
    module.run = body  # type: ignore[attr-defined]  # as above
    return module


def test_discovers_every_scenario_module_with_its_interface() -> None:
    names = {m.NAME for m in runner.discover()}
    assert {"hanging_calls", "rotate", "replicas"} <= names
    for module in runner.discover():
        assert module.__name__.startswith("bench.faults.scenario_")
        assert isinstance(module.DESCRIPTION, str)
        assert module.DESCRIPTION


@pytest.mark.parametrize(
    ("outcome", "verdict", "text"),
    [
        ({"calls": 3}, "PASS", "calls=3"),
        ({"skipped": "needs PostgreSQL"}, "SKIP", "needs PostgreSQL"),
        (Skipped("no database"), "SKIP", "no database"),
        (AssertionError("p99 60 ms (bar: < 50 ms)"), "FAIL", "p99 60 ms"),
        (RuntimeError("boom"), "ERROR", "RuntimeError: boom"),
        ("not a dict", "ERROR", "not a dict of figures"),
    ],
)
def test_verdicts(outcome: object, verdict: str, text: str) -> None:
    async def run(*, small: bool, pg_url: str | None) -> object:
        assert small
        assert pg_url is None
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    result = runner.run_one(_module("fake", run), small=True, pg_url=None)
    assert result.verdict == verdict
    assert text in runner.summary([result])


def test_exit_status_is_1_when_a_scenario_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    async def ok(*, small: bool, pg_url: str | None) -> dict[str, int]:
        return {"n": 1}

    async def bad(*, small: bool, pg_url: str | None) -> dict[str, int]:
        raise AssertionError("missed")

    monkeypatch.setattr(runner, "discover", lambda: [_module("ok", ok), _module("bad", bad)])
    assert runner.main(["--small"]) == 1
    assert runner.main(["--small", "--only", "ok"]) == 0
    with pytest.raises(SystemExit):
        runner.main(["--only", "nope"])
