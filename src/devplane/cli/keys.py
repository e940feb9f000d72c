"""`devplane keys`: make encryption keys for secrets at rest."""

from __future__ import annotations

import typer

from devplane.crypto.cipher import generate_key, key_digest, parse_key

app = typer.Typer(help="Encryption keys for secrets at rest.", no_args_is_help=True)


@app.command("generate")
def generate() -> None:
    """Print a new random 32-byte key, base64, for DEVPLANE_EXTERNAL_TOKEN_ENCRYPTION_KEYS."""
    key = generate_key()
    typer.echo(key)
    typer.echo(f"digest: {key_digest(parse_key(key))}  (put new keys first; keep old ones until rotated)", err=True)
