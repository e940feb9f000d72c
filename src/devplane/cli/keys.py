"""`devplane keys`: make encryption keys for secrets at rest."""

from __future__ import annotations

import typer

from devplane.cli import output
from devplane.cli.output import Output, OutputFormat
from devplane.crypto.cipher import generate_key, key_digest, parse_key

app = typer.Typer(help="Encryption keys for secrets at rest.", no_args_is_help=True)


@app.command("generate")
def generate(fmt: Output = OutputFormat.TABLE) -> None:
    """Print a new random 32-byte key, base64, for DEVPLANE_EXTERNAL_TOKEN_ENCRYPTION_KEYS.

    The key alone goes to stdout, so `KEY=$(devplane keys generate)` works; its digest goes to stderr.
    """
    key = generate_key()
    digest = key_digest(parse_key(key))
    if fmt is OutputFormat.JSON:
        output.message(fmt, "Generated a key.", key=key, digest=digest)
        return
    typer.echo(key)
    output.note(f"digest: {digest}  (put new keys first; keep old ones until `devplane dbcrypt rotate` has run)")
