"""CLI commands that need no server: help text, `server` flag checks, `keys generate`, durations."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import typer

from devplane.cli.durations import format_duration, parse_duration
from devplane.cli.main import app
from devplane.config import Settings
from devplane.crypto.cipher import key_digest, parse_key
from tests.cli.conftest import Cli


def _commands(command: Any, path: str = "devplane") -> list[tuple[str, Any]]:
    """Every command under `command`. Duck-typed: typer vendors its own click, not the public one."""
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, f"{path} {name}")
    return found


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, command in _commands(typer.main.get_command(app)):
        if not (command.help or command.short_help):
            missing.append(path)
        for param in command.params:
            if not getattr(param, "help", None):
                missing.append(f"{path} {param.opts[0]}")
    assert not missing, f"no help text: {missing}"


def test_client_commands_all_take_output() -> None:
    for path, command in _commands(typer.main.get_command(app)):
        if hasattr(command, "commands") or path == "devplane server":
            continue
        opts = {o for p in command.params for o in getattr(p, "opts", [])}
        assert "--output" in opts, path


def test_server_help_lists_every_setting(cli: Cli) -> None:
    result = cli.ok("server", "--help")
    for name in Settings.model_fields:
        assert f"--{name.replace('_', '-')}" in result.output, name
        assert f"DEVPLANE_{name.upper()}" in result.output, name


def test_server_rejects_a_bad_http_address(cli: Cli) -> None:
    result = cli.run("server", "--http-address", "nonsense")
    assert result.exit_code == 2
    assert "error: --http-address: must be host:port, e.g. 127.0.0.1:3000" in result.stderr
    assert "Traceback" not in result.output


def test_server_names_the_env_var_when_the_env_is_wrong(cli: Cli) -> None:
    result = cli.run("server", env={"DEVPLANE_HTTP_ADDRESS": "nonsense"})
    assert result.exit_code == 2
    assert "error: DEVPLANE_HTTP_ADDRESS: must be host:port" in result.stderr


def test_keys_generate_prints_a_valid_key(cli: Cli) -> None:
    result = cli.ok("keys", "generate")
    key = result.stdout.strip()
    assert len(base64.b64decode(key, validate=True)) == 32
    assert f"digest: {key_digest(parse_key(key))}" in result.stderr

    data = json.loads(cli.ok("keys", "generate", "-o", "json").stdout)
    assert data["digest"] == key_digest(parse_key(data["key"]))
    assert data["key"] != key


def test_version(cli: Cli) -> None:
    assert cli.ok("--version").stdout.startswith("devplane ")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * 86400), ("12h", 12 * 3600), ("90m", 5400), ("45s", 45), ("2w", 14 * 86400), ("1d12h", 129600)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "d", "1.5h", "-1d", "0s", "1y", "1h 30m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert format_duration(30 * 86400) == "30d"
    assert format_duration(90061) == "1d1h1m1s"
    assert format_duration(0) == "0s"


def test_dbcrypt_status_rotate_revoke(cli: Cli, tmp_path: Path) -> None:
    data_dir = str(tmp_path / "data")
    status = json.loads(cli.ok("dbcrypt", "status", "--data-dir", data_dir, "-o", "json").stdout)
    [embedded] = status["keys"]  # a fresh SQLite deployment makes its own key
    assert "test" not in embedded

    new_key = cli.ok("keys", "generate").stdout.strip()
    old_key = (tmp_path / "data" / "external-token-encryption.key").read_text().strip()
    rotated = json.loads(
        cli.ok("dbcrypt", "rotate", "--data-dir", data_dir, "--keys", f"{new_key},{old_key}", "-o", "json").stdout
    )
    assert rotated["revoked"] == [embedded["active_key_digest"]]

    refused = cli.run("dbcrypt", "revoke", "nosuchd", "--data-dir", data_dir, "--keys", new_key)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: ")
