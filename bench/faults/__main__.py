"""The fault battery: `python -m bench.faults [--small] [--pg-url URL] [--only NAME ...]`
(or `./scripts/dev faults`).

Discovers the `bench/faults/scenario_*.py` modules. Each exposes `NAME: str`,
`DESCRIPTION: str` and `async def run(*, small: bool, pg_url: str | None) -> dict[str, float |
int | str]`: it prints its progress (stderr), returns its figures, and raises AssertionError
with a clear message when its bar is missed. A scenario that does not apply to this database
(e.g. it needs PostgreSQL) raises `bench.faults.harness.Skipped`, or returns `{"skipped":
"<reason>"}`; the runner prints the reason.

Each scenario runs on its own event loop, one after the other (they measure latency, so they
must not share the machine with each other). The summary table goes to stdout; the exit
status is 0 when every scenario passed or skipped, 1 when one failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import bench.faults
from bench.faults.harness import Skipped
from bench.gateway import STARTED, loop_factory

Figures = dict[str, float | int | str]


@dataclass
class Outcome:
    name: str
    description: str
    verdict: str  # PASS, FAIL, SKIP, ERROR
    seconds: float
    message: str = ""
    figures: Figures = field(default_factory=dict)


def discover() -> list[ModuleType]:
    modules = []
    for info in sorted(pkgutil.iter_modules(bench.faults.__path__), key=lambda i: i.name):
        if info.name.startswith("scenario_"):
            module = importlib.import_module(f"bench.faults.{info.name}")
            for attr in ("NAME", "DESCRIPTION", "run"):
                if not hasattr(module, attr):
                    raise SystemExit(f"bench/faults/{info.name}.py has no {attr}")
            modules.append(module)
    return modules


def run_one(module: ModuleType, small: bool, pg_url: str | None) -> Outcome:
    name, description = str(module.NAME), str(module.DESCRIPTION)
    print(f"\n=== {name}: {description}", file=sys.stderr, flush=True)
    started = time.monotonic()

    def done(verdict: str, message: str = "", figures: Figures | None = None) -> Outcome:
        return Outcome(name, description, verdict, time.monotonic() - started, message, figures or {})

    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            figures: Any = runner.run(module.run(small=small, pg_url=pg_url))
    except Skipped as exc:
        return done("SKIP", str(exc))
    except AssertionError as exc:
        return done("FAIL", str(exc) or "assertion failed")
    except Exception as exc:
        traceback.print_exc()
        return done("ERROR", f"{type(exc).__name__}: {exc}")
    finally:
        for proc in list(STARTED):  # a scenario that crashed may have left children: stop them by PID
            proc.stop()
        STARTED.clear()
    if not isinstance(figures, dict):
        return done("ERROR", f"run() returned {type(figures).__name__}, not a dict of figures")
    if "skipped" in figures:
        return done("SKIP", str(figures["skipped"]))
    return done("PASS", figures=figures)


def summary(outcomes: list[Outcome]) -> str:
    width = max([len(o.name) for o in outcomes] + [8])
    lines = [f"{'scenario':<{width}}  verdict  seconds  figures / reason", "-" * (width + 60)]
    for o in outcomes:
        detail = ", ".join(f"{k}={v}" for k, v in o.figures.items()) if o.verdict == "PASS" else o.message
        lines.append(f"{o.name:<{width}}  {o.verdict:<7}  {o.seconds:7.1f}  {detail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description="The fault battery (issue 9).")
    parser.add_argument("--small", action="store_true", help="The CI size: shorter phases, fewer requests.")
    parser.add_argument("--pg-url", default=None, help="A PostgreSQL server URL; each scenario makes its own database.")
    parser.add_argument("--only", nargs="*", default=None, metavar="NAME", help="Run only these scenarios.")
    parser.add_argument("--list", action="store_true", help="List the scenarios and exit.")
    args = parser.parse_args(argv)
    modules = discover()
    if args.list:
        for module in modules:
            print(f"{module.NAME}: {module.DESCRIPTION}")
        return 0
    if args.only is not None:
        unknown = set(args.only) - {m.NAME for m in modules}
        if unknown:
            parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
        modules = [m for m in modules if m.NAME in args.only]
    database = "postgresql" if args.pg_url else "sqlite"
    print(f"fault battery: {len(modules)} scenario(s) on {database}, {'small' if args.small else 'full'} size")
    outcomes = [run_one(m, args.small, args.pg_url) for m in modules]
    print()
    print(summary(outcomes))
    failed = [o for o in outcomes if o.verdict in ("FAIL", "ERROR")]
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} passed or skipped on {database}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
