"""The README documents every setting and keeps its two quick-start commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devplane.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def table_rows() -> dict[str, str]:
    """README configuration-table rows keyed by their env var."""
    rows: dict[str, str] = {}
    for line in README.read_text().splitlines():
        match = re.match(r"\| `(DEVPLANE_[A-Z0-9_]+)` \|", line)
        if match:
            rows[match.group(1)] = line
    return rows


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_table(name: str, table_rows: dict[str, str]) -> None:
    env = f"DEVPLANE_{name.upper()}"
    hint = "run `./scripts/dev docs` to regenerate the table from devplane.config.Settings"
    assert env in table_rows, f"{env} is missing from the README configuration table; {hint}"
    row = table_rows[env]
    assert f"`--{name.replace('_', '-')}`" in row, hint
    description = (Settings.model_fields[name].description or "").replace("|", "\\|")
    assert description in row, f"the README's description of {env} is stale; {hint}"


def test_the_readme_table_has_no_stale_settings(table_rows: dict[str, str]) -> None:
    known = {f"DEVPLANE_{name.upper()}" for name in Settings.model_fields}
    assert set(table_rows) <= known, f"README documents settings that do not exist: {set(table_rows) - known}"


def test_quick_start_is_two_commands() -> None:
    text = README.read_text()
    quick_start = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick_start.strip().splitlines()]
    assert commands == ["./scripts/dev server", "./scripts/dev test"]
