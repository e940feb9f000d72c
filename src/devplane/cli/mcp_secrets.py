"""Secrets for MCP server configs: from a file, standard input or a hidden prompt, never from argv.

Command-line arguments end up in shell history, `ps` output and CI logs, so the CLI has no flag
that takes a secret value. Errors name the flag and the file, never the content.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from devplane.cli import output
from devplane.sdk.mcp import AuthType

STDIN = "-"


@dataclass(frozen=True)
class SecretSources:
    """Where each secret comes from, as given on the command line (paths or `-`, never values)."""

    oauth2_client_secret_file: str | None = None
    api_key_file: str | None = None
    headers_file: str | None = None
    header_names: list[str] = field(default_factory=list)
    prompt: bool = False
    clear_oauth2_client_secret: bool = False
    clear_api_key: bool = False
    clear_headers: bool = False

    def __post_init__(self) -> None:
        flags = {
            "--oauth2-client-secret-file": self.oauth2_client_secret_file,
            "--api-key-file": self.api_key_file,
            "--headers-file": self.headers_file,
        }
        from_stdin = [flag for flag, source in flags.items() if source == STDIN]
        if len(from_stdin) > 1:
            raise typer.BadParameter(f"only one secret can come from standard input, not {' and '.join(from_stdin)}")
        for clear, flag in (
            (self.clear_oauth2_client_secret, "--oauth2-client-secret-file"),
            (self.clear_api_key, "--api-key-file"),
            (self.clear_headers, "--headers-file"),
        ):
            if clear and flags[flag] is not None:
                raise typer.BadParameter(f"{flag} cannot be combined with the flag that clears the same secret")
        if self.clear_headers and self.header_names:
            raise typer.BadParameter("--header-name cannot be combined with --clear-headers")


def read_text(source: str, flag: str) -> str:
    """The text of a file named on the command line, or of stdin for `-`."""
    if source == STDIN:
        return sys.stdin.read()
    try:
        return Path(source).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise output.fail(f"{flag}: cannot read {source}: {reason}") from None


def _where(source: str) -> str:
    return "standard input" if source == STDIN else source


def read_secret(source: str, flag: str) -> str:
    """One secret value: the whole file (or stdin) with surrounding whitespace removed."""
    # Whitespace around a key is never part of it (HTTP trims header values), but `echo key > file`
    # always adds a newline that would otherwise be sent upstream.
    value = read_text(source, flag).strip()
    if not value:
        raise output.fail(f"{flag}: {_where(source)} is empty")
    return value


def read_headers(source: str, flag: str = "--headers-file") -> dict[str, str]:
    """A JSON object of header name to value."""
    try:
        data: Any = json.loads(read_text(source, flag))
    except ValueError:
        data = None  # the parser's message quotes the input: it must not reach the terminal
    if not isinstance(data, dict) or not data or not all(isinstance(v, str) for v in data.values()):
        raise output.fail(
            f"{flag}: {_where(source)} must hold a JSON object of header names to string values",
            'e.g. {"X-Tenant": "acme", "X-Api-Token": "..."}',
        )
    return {str(k): v for k, v in data.items()}


def _prompt(label: str, *, optional: bool) -> str:
    # default="" lets an empty answer through: "none" on create, "keep" on edit.
    value = typer.prompt(label, hide_input=True, default="" if optional else None, show_default=False, err=True)
    return str(value).strip()


def collect(sources: SecretSources, auth_type: AuthType | None, *, editing: bool) -> dict[str, Any]:
    """The secret fields of a create or update request.

    `auth_type` is the type the secrets are for (on edit: the new one, else the current one); it
    decides what `--prompt-secrets` asks for. On edit an empty prompt answer keeps the secret.
    """
    fields: dict[str, Any] = {}
    if sources.clear_oauth2_client_secret:
        fields["oauth2_client_secret"] = ""
    if sources.clear_api_key:
        fields["api_key_value"] = ""
    if sources.clear_headers:
        fields["custom_headers"] = {}
    if sources.oauth2_client_secret_file is not None:
        fields["oauth2_client_secret"] = read_secret(sources.oauth2_client_secret_file, "--oauth2-client-secret-file")
    if sources.api_key_file is not None:
        fields["api_key_value"] = read_secret(sources.api_key_file, "--api-key-file")
    headers = read_headers(sources.headers_file) if sources.headers_file is not None else None

    missing = [name for name in sources.header_names if name not in (headers or {})]
    if missing and not sources.prompt:
        raise output.fail(
            f"no value for header {', '.join(missing)}",
            "Header values are secret and never taken from the command line: "
            "put them in --headers-file (a JSON object) or add --prompt-secrets.",
        )
    if sources.prompt:
        keep = " (empty keeps the current one)" if editing else ""
        if auth_type is AuthType.API_KEY and "api_key_value" not in fields:
            value = _prompt(f"API key value{keep}", optional=editing)
            if value:
                fields["api_key_value"] = value
        if auth_type is AuthType.OAUTH2 and "oauth2_client_secret" not in fields:
            hint = keep or " (empty for a public client)"
            value = _prompt(f"OAuth2 client secret{hint}", optional=True)
            if value:
                fields["oauth2_client_secret"] = value
        for name in missing:
            headers = {**(headers or {}), name: _prompt(f"Value of header {name}", optional=False)}
    if headers is not None:
        fields["custom_headers"] = headers
    return fields
