"""The CLI's session: server URL and token, from the environment or the user config file.

The file lives at `platformdirs.user_config_dir("devplane")/session.json` (on Linux
`$XDG_CONFIG_HOME/devplane`, else `~/.config/devplane`). It holds a bearer token, so the
directory is 0700 and the file 0600, written atomically so a crash never leaves half a token.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_URL = "DEVPLANE_URL"
ENV_TOKEN = "DEVPLANE_TOKEN"  # noqa: S105 - the name of an env var, not a secret
SESSION_FILE = "session.json"


@dataclass(frozen=True)
class Session:
    url: str
    token: str | None

    def __repr__(self) -> str:
        return f"Session(url={self.url!r}, token={'***' if self.token else None})"


def config_dir() -> Path:
    # Computed on every call, not at import, so tests (and users) can point XDG_CONFIG_HOME elsewhere.
    return Path(platformdirs.user_config_dir("devplane", appauthor=False))


def session_path() -> Path:
    return config_dir() / SESSION_FILE


def read_file() -> Session | None:
    """The stored session, or None when there is none or it is unreadable."""
    try:
        data = json.loads(session_path().read_text())
    except (OSError, ValueError):
        return None
    url, token = data.get("url"), data.get("token")
    if not isinstance(url, str) or not url:
        return None
    return Session(url=url, token=token if isinstance(token, str) and token else None)


def current() -> Session | None:
    """The session to use: DEVPLANE_URL / DEVPLANE_TOKEN win over the file.

    The file's token is only sent to the file's URL: when DEVPLANE_URL names another server,
    a stored token for a different server must not leak to it.
    """
    stored = read_file()
    url = os.environ.get(ENV_URL, "").strip().rstrip("/")
    token = os.environ.get(ENV_TOKEN, "").strip() or None
    if not url:
        if stored is None:
            return Session(url="", token=token) if token else None
        url = stored.url
    if token is None and stored is not None and stored.url == url:
        token = stored.token
    return Session(url=url, token=token)


def save(session: Session) -> Path:
    """Write the session file (directory 0700, file 0600) atomically; returns its path."""
    directory = config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)  # mkdir's mode is filtered by the umask and ignored for existing dirs
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".session-", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump({"url": session.url, "token": session.token}, fh)
        os.chmod(tmp, 0o600)
        os.replace(tmp, directory / SESSION_FILE)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return directory / SESSION_FILE


def delete() -> bool:
    """Remove the session file; True when there was one."""
    try:
        session_path().unlink()
    except FileNotFoundError:
        return False
    return True
