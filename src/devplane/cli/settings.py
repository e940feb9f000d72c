"""Server-side commands (`server`, `dbcrypt`) read the same Settings: env vars, then flags."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from devplane.config import Settings


def flag_help(name: str, extra: str = "") -> str:
    """`--help` text for a Settings field: its description (the README's too) and its env var."""
    description = Settings.model_fields[name].description or ""
    return f"{description}{' ' + extra if extra else ''} (env DEVPLANE_{name.upper()})"


def load_settings(**flags: object) -> Settings:
    """Settings from env, overridden by the flags that were given; exits 2 with a readable message."""
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]  # flags are typed per field by typer
    except ValidationError as exc:
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            source = f"--{name.replace('_', '-')}" if name in given else f"DEVPLANE_{name.upper()}"
            typer.secho(f"error: {source}: {message}", fg="red", err=True)
        raise typer.Exit(2) from None
