"""`devplane login|logout|whoami`."""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

from devplane.cli import config, output, runner
from devplane.cli.output import Output, OutputFormat
from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError
from devplane.sdk.users import CreateFirstUserRequest, LoginRequest, User


def _columns(url: str) -> list[output.Column]:
    return [
        ("URL", lambda _: url),
        ("USERNAME", lambda u: u.username),
        ("EMAIL", lambda u: u.email),
        ("ROLES", lambda u: u.roles or ["member"]),
        ("STATUS", lambda u: u.status),
    ]


def _default_username() -> str | None:
    try:
        name = getpass.getuser().lower()
    except (OSError, KeyError):  # no passwd entry, e.g. in a bare container
        return None
    return name if name.isalnum() else None


async def _create_first_user(client: Client, email: str | None, username: str | None, stdin: bool) -> str:
    """Coder-style: a fresh deployment offers to make you its owner. Returns the email to log in with."""
    if username is None:
        if stdin:
            raise output.fail("No user exists yet on this deployment.", "Pass --username to create the first user.")
        if not typer.confirm("No user exists yet. Create the first user (an owner) now?", default=True, err=True):
            raise output.fail("No user exists yet; the first user must be created before anyone can log in.")
        username = str(typer.prompt("Username", default=_default_username(), err=True))
    email = email or str(typer.prompt("Email", err=True))
    password = runner.read_secret_stdin() if stdin else runner.prompt_new_password()
    req = CreateFirstUserRequest(email=email, username=username, password=password)
    user = await client.create_first_user(req)
    output.note(f"Created the first user {user.username!r} with the owner role.")
    login = await client.login(LoginRequest(email=req.email, password=password))
    return login.session_token


async def _log_in(client: Client, email: str | None, stdin: bool) -> str:
    email = email or str(typer.prompt("Email", err=True))
    password = runner.read_secret_stdin() if stdin else str(typer.prompt("Password", hide_input=True, err=True))
    return (await client.login(LoginRequest(email=email, password=password))).session_token


def login(
    url: Annotated[str, typer.Argument(help="The devplane server, e.g. http://127.0.0.1:3000.", show_default=False)],
    email: Annotated[str | None, typer.Option(help="Your email; prompted for when absent.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
    username: Annotated[
        str | None,
        typer.Option(help="Username for the first user; used only when the deployment has no user yet."),
    ] = None,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Log in to a devplane server and save the session token in your config directory.

    On a deployment with no user yet, offers to create the first user (an owner) first.
    """
    if password_stdin and email is None:
        raise typer.BadParameter("--email is required with --password-stdin", param_hint="--email")
    base = runner.normalize_url(url)

    async def main() -> User:
        async with Client(base) as client:
            if await client.has_first_user():
                token = await _log_in(client, email, password_stdin)
            else:
                token = await _create_first_user(client, email, username, password_stdin)
            me = await client.me()
        config.save(config.Session(url=base, token=token))
        return me

    me = runner.run(main, url=base)
    if fmt is OutputFormat.JSON:
        output.emit(fmt, me, [])
    else:
        output.message(fmt, f"Welcome to devplane! You are logged in to {base} as {me.username}.")
        output.note(f"Session saved to {config.session_path()}.")
    if os.environ.get(config.ENV_TOKEN):
        output.note(f"Note: {config.ENV_TOKEN} is set and is used instead of the saved session.")


def logout(fmt: Output = OutputFormat.TABLE) -> None:
    """Revoke the current session token on the server and forget it locally."""
    current = runner.session()

    async def main() -> None:
        async with Client(current.url, current.token) as client:
            try:
                await client.logout()
            except DevplaneError as exc:
                if exc.status_code != 401:  # an expired or revoked token is as logged out as it gets
                    raise

    runner.run(main, url=current.url)
    config.delete()
    output.message(fmt, f"Logged out of {current.url}.", url=current.url)


def whoami(fmt: Output = OutputFormat.TABLE) -> None:
    """Show the user the current session belongs to, and the server it talks to."""
    current = runner.session()
    me = runner.call(lambda client: client.me())
    output.emit(fmt, me, _columns(current.url))
