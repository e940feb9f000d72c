"""Run an SDK call from a sync typer command: build the client, run the loop, turn errors into exits.

Every failure the user can cause (server down, bad token, 4xx) ends as a red message on
stderr and exit code 1, never a traceback: tracebacks can carry tokens and help nobody.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
import pydantic
import typer

from devplane.cli import config, output
from devplane.sdk.client import Client
from devplane.sdk.errors import DevplaneError

T = TypeVar("T")

NOT_LOGGED_IN = "You are not logged in. Run `devplane login <url>` (or set DEVPLANE_URL and DEVPLANE_TOKEN)."


def run(main: Callable[[], Awaitable[T]], *, url: str = "") -> T:
    """`asyncio.run(main())`, with API and network errors rendered for people."""

    async def wrapped() -> T:
        return await main()

    try:
        return asyncio.run(wrapped())
    except DevplaneError as exc:
        raise output.api_error(exc) from None
    except pydantic.ValidationError as exc:
        # The SDK's request models check input before it is sent; show it like the server would.
        raise output.invalid_input(exc) from None
    except httpx.InvalidURL as exc:
        raise output.fail(f"invalid URL {url!r}: {exc}") from None
    except httpx.TimeoutException:
        raise output.fail(f"timed out talking to {url or 'the server'}") from None
    except httpx.HTTPError as exc:
        raise output.fail(f"cannot reach {url or 'the server'}: {exc}", "Is `devplane server` running?") from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def session() -> config.Session:
    """The current session, or a clear 'log in first' exit."""
    current = config.current()
    if current is None or not current.url or not current.token:
        raise output.fail(NOT_LOGGED_IN)
    return current


def call(action: Callable[[Client], Awaitable[T]]) -> T:
    """Run `action` with a client for the current session."""
    current = session()

    async def main() -> T:
        async with Client(current.url, current.token) as client:
            return await action(client)

    return run(main, url=current.url)


def normalize_url(url: str) -> str:
    """Accept `host:port` as well as a full URL; refuse anything that is not http(s)."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter("must be an http:// or https:// URL", param_hint="URL")
    return url


def read_secret_stdin(what: str = "password") -> str:
    """The first line of stdin, without its newline: for `--password-stdin`."""
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise output.fail(f"no {what} on standard input")
    return line


def prompt_new_password() -> str:
    """Ask twice with hidden input; the server enforces the strength rules."""
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))
