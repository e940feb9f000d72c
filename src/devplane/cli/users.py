"""`devplane users create|list|show|suspend|activate`."""

from __future__ import annotations

from typing import Annotated

import typer

from devplane.cli import output, runner
from devplane.cli.output import Output, OutputFormat
from devplane.sdk.client import Client
from devplane.sdk.users import CreateUserRequest, RoleName, UpdateUserRequest, User, UserStatus

app = typer.Typer(
    help="Manage users (creating and changing them needs the owner or user-admin role).", no_args_is_help=True
)

COLUMNS: list[output.Column] = [
    ("ID", lambda u: u.id),
    ("USERNAME", lambda u: u.username),
    ("EMAIL", lambda u: u.email),
    ("ROLES", lambda u: u.roles or ["member"]),
    ("STATUS", lambda u: u.status),
    ("CREATED", lambda u: u.created_at),
    ("LAST SEEN", lambda u: u.last_seen_at),
]

UserRef = Annotated[str, typer.Argument(help="A user id, a username, or `me`.", show_default=False)]


@app.command("create")
def create(
    email: Annotated[str | None, typer.Option(help="Email of the new user; prompted for when absent.")] = None,
    username: Annotated[str | None, typer.Option(help="Username of the new user; prompted for when absent.")] = None,
    role: Annotated[
        list[RoleName] | None,
        typer.Option(help="A role to grant, repeatable. Everyone is a member without it."),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the new user's password from the first line of standard input (else prompted).",
        ),
    ] = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Create a user. The password never goes on the command line: it is prompted for or read from stdin."""
    if password_stdin and (email is None or username is None):
        raise typer.BadParameter("--email and --username are required with --password-stdin")
    # Prompts come before the request so a typo never leaves a half-made user behind.
    email = email or str(typer.prompt("Email", err=True))
    username = username or str(typer.prompt("Username", err=True))
    password = runner.read_secret_stdin() if password_stdin else runner.prompt_new_password()

    async def action(client: Client) -> User:
        req = CreateUserRequest(email=email, username=username, password=password, roles=list(role or []))
        return await client.create_user(req)

    user = runner.call(action)
    output.emit(fmt, user, COLUMNS)


@app.command("list")
def list_users(fmt: Output = OutputFormat.TABLE) -> None:
    """List the users you may see."""
    output.emit(fmt, runner.call(lambda client: client.users()), COLUMNS)


@app.command("show")
def show(user: UserRef, fmt: Output = OutputFormat.TABLE) -> None:
    """Show one user."""
    output.emit(fmt, runner.call(lambda client: client.user(user)), COLUMNS)


def _set_status(user: str, status: UserStatus, fmt: OutputFormat) -> None:
    updated = runner.call(lambda client: client.update_user(user, UpdateUserRequest(status=status)))
    output.emit(fmt, updated, COLUMNS)


@app.command("suspend")
def suspend(user: UserRef, fmt: Output = OutputFormat.TABLE) -> None:
    """Suspend a user: they can no longer log in, and their sessions and API keys stop working."""
    _set_status(user, UserStatus.SUSPENDED, fmt)


@app.command("activate")
def activate(user: UserRef, fmt: Output = OutputFormat.TABLE) -> None:
    """Re-activate a suspended user."""
    _set_status(user, UserStatus.ACTIVE, fmt)
