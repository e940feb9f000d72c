"""`devplane server`: every Settings field is a flag and an env var."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from devplane import logging as dlog
from devplane.api.app import create_app, start
from devplane.config import Settings
from devplane.services.keys import StartupError


def load_settings(**flags: object) -> Settings:
    """Settings from env, overridden by flags that were given; exits with a readable message."""
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            typer.secho(f"error: --{field.replace('_', '-')}: {err['msg']}", fg="red", err=True)
        raise typer.Exit(2) from None


def server(
    http_address: Annotated[
        str | None, typer.Option(help="Listen address host:port [env DEVPLANE_HTTP_ADDRESS].")
    ] = None,
    access_url: Annotated[str | None, typer.Option(help="External URL [env DEVPLANE_ACCESS_URL].")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="SQLite file and key directory [env DEVPLANE_DATA_DIR].")
    ] = None,
    pg_url: Annotated[str | None, typer.Option(help="PostgreSQL URL [env DEVPLANE_PG_URL].")] = None,
    experiments: Annotated[str | None, typer.Option(help="Comma list or '*' [env DEVPLANE_EXPERIMENTS].")] = None,
    external_token_encryption_keys: Annotated[
        str | None, typer.Option(help="Comma list of base64 keys [env DEVPLANE_EXTERNAL_TOKEN_ENCRYPTION_KEYS].")
    ] = None,
    session_duration_seconds: Annotated[
        int | None, typer.Option(help="Session lifetime [env DEVPLANE_SESSION_DURATION_SECONDS].")
    ] = None,
    max_api_key_lifetime_seconds: Annotated[
        int | None, typer.Option(help="Longest API key lifetime [env DEVPLANE_MAX_API_KEY_LIFETIME_SECONDS].")
    ] = None,
    max_body_bytes: Annotated[
        int | None, typer.Option(help="Largest request body [env DEVPLANE_MAX_BODY_BYTES].")
    ] = None,
    login_rate_limit: Annotated[
        int | None, typer.Option(help="Logins per window [env DEVPLANE_LOGIN_RATE_LIMIT].")
    ] = None,
    login_rate_window_seconds: Annotated[
        int | None, typer.Option(help="Login rate window [env DEVPLANE_LOGIN_RATE_WINDOW_SECONDS].")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="debug|info|warning|error [env DEVPLANE_LOG_LEVEL].")] = None,
    trusted_proxies: Annotated[
        bool | None, typer.Option(help="Trust X-Forwarded-For [env DEVPLANE_TRUSTED_PROXIES].")
    ] = None,
) -> None:
    settings = load_settings(
        http_address=http_address,
        access_url=access_url,
        data_dir=data_dir,
        pg_url=pg_url,
        experiments=experiments,
        external_token_encryption_keys=external_token_encryption_keys,
        session_duration_seconds=session_duration_seconds,
        max_api_key_lifetime_seconds=max_api_key_lifetime_seconds,
        max_body_bytes=max_body_bytes,
        login_rate_limit=login_rate_limit,
        login_rate_window_seconds=login_rate_window_seconds,
        log_level=log_level,
        trusted_proxies=trusted_proxies,
    )
    dlog.configure(settings.log_level)
    try:
        asyncio.run(_serve(settings))
    except StartupError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None


async def _serve(settings: Settings) -> None:
    state = await start(settings)
    app = create_app(settings, state)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
    )
    srv = uvicorn.Server(config)
    url = settings.effective_access_url
    typer.echo(f"devplane is listening on http://{settings.http_address} (access URL {url})", err=True)
    typer.echo(f"Database: {'SQLite in ' + str(settings.data_dir) if settings.uses_sqlite else 'PostgreSQL'}", err=True)
    typer.echo(
        f"Create the first user:  curl -X POST {url}/api/v2/users/first -H 'Content-Type: application/json' "
        '-d \'{"email":"you@example.com","username":"you","password":"<a strong password>"}\'',
        err=True,
    )
    typer.echo(f"Then log in from the CLI: devplane login {url}", err=True)
    try:
        await srv.serve()  # uvicorn handles SIGTERM/SIGINT: stops accepting, drains, runs lifespan exit
    finally:
        await state.db.dispose()
