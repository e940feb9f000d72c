"""`devplane login|logout|whoami` and the session file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.cli.conftest import Cli
from tests.factories import OWNER_EMAIL, OWNER_PASSWORD, OWNER_USERNAME
from tests.live import LiveServer


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_login_offers_to_create_the_first_user(cli: Cli, live_server: LiveServer) -> None:
    answers = "\n".join(["y", OWNER_USERNAME, OWNER_EMAIL, OWNER_PASSWORD, OWNER_PASSWORD]) + "\n"
    result = cli.ok("login", live_server.url, input=answers)
    assert "Create the first user" in result.output
    assert f"logged in to {live_server.url} as {OWNER_USERNAME}" in result.stdout
    assert OWNER_PASSWORD not in result.output  # hidden input is not echoed
    saved = json.loads(cli.session_file.read_text())
    assert saved["url"] == live_server.url
    assert saved["token"]
    assert _mode(cli.session_file) == 0o600
    assert _mode(cli.session_file.parent) == 0o700


def test_login_declining_the_first_user_exits_1(cli: Cli, live_server: LiveServer) -> None:
    result = cli.run("login", live_server.url, input="n\n")
    assert result.exit_code == 1
    assert "first user" in result.stderr
    assert not cli.session_file.exists()


def test_login_prompts_for_email_and_password(logged_in: Cli, live_server: LiveServer) -> None:
    logged_in.session_file.unlink()
    result = logged_in.ok("login", live_server.url, input=f"{OWNER_EMAIL}\n{OWNER_PASSWORD}\n")
    assert "Email" in result.stderr
    assert "Password" in result.stderr
    assert logged_in.session_file.exists()


def test_login_wrong_password_exits_1_with_the_api_message(logged_in: Cli, live_server: LiveServer) -> None:
    result = logged_in.run(
        "login", live_server.url, "--email", OWNER_EMAIL, "--password-stdin", input="Wrong-pass-1234\n"
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_whoami_table_and_json(logged_in: Cli, live_server: LiveServer) -> None:
    table = logged_in.ok("whoami")
    assert OWNER_USERNAME in table.stdout
    assert live_server.url in table.stdout
    me = json.loads(logged_in.ok("whoami", "--output", "json").stdout)
    assert me["username"] == OWNER_USERNAME
    assert me["roles"] == ["owner"]


def test_env_overrides_the_session_file(logged_in: Cli, live_server: LiveServer) -> None:
    token = json.loads(logged_in.session_file.read_text())["token"]
    logged_in.session_file.unlink()
    result = logged_in.ok("whoami", "-o", "json", env={"DEVPLANE_URL": live_server.url, "DEVPLANE_TOKEN": token})
    assert json.loads(result.stdout)["username"] == OWNER_USERNAME


def test_a_bad_env_token_wins_and_fails_cleanly(logged_in: Cli) -> None:
    result = logged_in.run("whoami", env={"DEVPLANE_TOKEN": "abcdefghij-abcdefghijklmnopqrstuv"})
    assert result.exit_code == 1
    assert "error:" in result.stderr
    assert "Traceback" not in result.output


def test_logout_revokes_and_forgets_the_session(logged_in: Cli, live_server: LiveServer) -> None:
    token = json.loads(logged_in.session_file.read_text())["token"]
    result = logged_in.ok("logout")
    assert "Logged out" in result.stdout
    assert not logged_in.session_file.exists()
    revoked = logged_in.run("whoami", env={"DEVPLANE_URL": live_server.url, "DEVPLANE_TOKEN": token})
    assert revoked.exit_code == 1
    assert "login" in revoked.stderr


def test_commands_without_a_session_say_how_to_log_in(cli: Cli) -> None:
    result = cli.run("users", "list")
    assert result.exit_code == 1
    assert "devplane login" in result.stderr


def test_unreachable_server_is_a_message_not_a_traceback(cli: Cli) -> None:
    result = cli.run("whoami", env={"DEVPLANE_URL": "http://127.0.0.1:9", "DEVPLANE_TOKEN": "x"})
    assert result.exit_code == 1
    assert "cannot reach http://127.0.0.1:9" in result.stderr


def test_login_password_stdin_needs_email(cli: Cli, live_server: LiveServer) -> None:
    result = cli.run("login", live_server.url, "--password-stdin", input="x\n")
    assert result.exit_code == 2
    assert "--email" in result.output


def test_login_json_prints_the_user(cli: Cli, live_server: LiveServer) -> None:
    args = ["login", live_server.url, "--email", OWNER_EMAIL, "--username", OWNER_USERNAME, "--password-stdin"]
    result = cli.ok(*args, "-o", "json", input=OWNER_PASSWORD + "\n")
    assert json.loads(result.stdout)["email"] == OWNER_EMAIL
