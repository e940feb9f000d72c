"""`devplane users ...` and `devplane tokens ...` against a live server."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.conftest import Cli
from tests.factories import MEMBER_PASSWORD
from tests.live import LiveServer


def _json(cli: Cli, *args: str, input: str | None = None) -> Any:
    return json.loads(cli.ok(*args, "--output", "json", input=input).stdout)


def _create(cli: Cli, username: str, *roles: str) -> dict[str, Any]:
    role_flags = [flag for role in roles for flag in ("--role", role)]
    args = ["users", "create", "--email", f"{username}@example.com", "--username", username, *role_flags]
    result: dict[str, Any] = _json(cli, *args, "--password-stdin", input=MEMBER_PASSWORD + "\n")
    return result


def test_users_create_list_show(logged_in: Cli) -> None:
    bob = _create(logged_in, "bob", "auditor", "user-admin")
    assert bob["username"] == "bob"
    assert sorted(bob["roles"]) == ["auditor", "user-admin"]

    listed = _json(logged_in, "users", "list")
    assert {u["username"] for u in listed} == {"owner", "bob"}
    table = logged_in.ok("users", "list").stdout
    assert "USERNAME" in table
    assert "bob@example.com" in table

    assert _json(logged_in, "users", "show", "bob")["id"] == bob["id"]
    assert _json(logged_in, "users", "show", bob["id"])["username"] == "bob"
    assert _json(logged_in, "users", "show", "me")["username"] == "owner"


def test_users_create_prompts_for_missing_fields_and_password(logged_in: Cli) -> None:
    answers = f"carol@example.com\ncarol\n{MEMBER_PASSWORD}\n{MEMBER_PASSWORD}\n"
    result = logged_in.ok("users", "create", input=answers)
    assert "carol" in result.stdout
    assert MEMBER_PASSWORD not in result.output


def test_users_suspend_and_activate(logged_in: Cli, live_server: LiveServer) -> None:
    _create(logged_in, "dave")
    assert _json(logged_in, "users", "suspend", "dave")["status"] == "suspended"
    member = Cli(home=logged_in.home / "dave", env={**logged_in.env, "XDG_CONFIG_HOME": str(logged_in.home / "dave")})
    login = ["login", live_server.url, "--email", "dave@example.com", "--password-stdin"]
    refused = member.run(*login, input=MEMBER_PASSWORD + "\n")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: ")

    assert _json(logged_in, "users", "activate", "dave")["status"] == "active"
    member.ok(*login, input=MEMBER_PASSWORD + "\n")
    assert _json(member, "whoami")["username"] == "dave"


def test_api_errors_print_the_envelope_and_exit_1(logged_in: Cli) -> None:
    _create(logged_in, "erin")
    duplicate = logged_in.run(
        "users", "create", "--email", "erin@example.com", "--username", "erin", "--password-stdin",
        input=MEMBER_PASSWORD + "\n",
    )  # fmt: skip
    assert duplicate.exit_code == 1
    assert duplicate.stderr.startswith("error: ")
    assert duplicate.stdout == ""
    assert "Traceback" not in duplicate.output

    missing = logged_in.run("users", "show", "nobody")
    assert missing.exit_code == 1
    assert "error: User not found." in missing.stderr

    weak = logged_in.run(
        "users", "create", "--email", "fay@example.com", "--username", "fay", "--password-stdin", input="short\n"
    )
    assert weak.exit_code == 1
    assert "password" in weak.stderr.lower()  # the validation names the field


def test_password_is_never_an_argument(logged_in: Cli) -> None:
    result = logged_in.run("users", "create", "--email", "g@example.com", "--username", "g", "--password", "x")
    assert result.exit_code == 2


def test_tokens_create_list_remove(logged_in: Cli, live_server: LiveServer) -> None:
    key = logged_in.ok("tokens", "create", "--lifetime", "30d", "--name", "ci").stdout.strip()
    key_id, _, secret = key.partition("-")
    assert len(key_id) == 10
    assert len(secret) == 22

    api_env: dict[str, str | None] = {"DEVPLANE_URL": live_server.url, "DEVPLANE_TOKEN": key}
    assert json.loads(logged_in.ok("whoami", "-o", "json", env=api_env).stdout)["username"] == "owner"

    created = _json(logged_in, "tokens", "create", "--lifetime", "12h")
    assert set(created) == {"key"}

    keys = {k["id"]: k for k in _json(logged_in, "tokens", "list")}
    assert keys[key_id]["name"] == "ci"
    assert keys[key_id]["lifetime_seconds"] == 30 * 86400
    assert created["key"].partition("-")[0] in keys
    assert secret not in logged_in.ok("tokens", "list").stdout
    assert "30d" in logged_in.ok("tokens", "list").stdout

    removed = _json(logged_in, "tokens", "remove", key_id)
    assert removed["id"] == key_id
    assert key_id not in {k["id"] for k in _json(logged_in, "tokens", "list")}
    revoked = logged_in.run("whoami", env=api_env)
    assert revoked.exit_code == 1

    again = logged_in.run("tokens", "remove", key_id)
    assert again.exit_code == 1
    assert "not found" in again.stderr.lower()


def test_tokens_create_rejects_a_bad_lifetime(logged_in: Cli) -> None:
    result = logged_in.run("tokens", "create", "--lifetime", "soon")
    assert result.exit_code == 2
    assert "not a duration" in result.output
    too_long = logged_in.run("tokens", "create", "--lifetime", "5000d")
    assert too_long.exit_code == 1
    assert "lifetime_seconds" in too_long.stderr


def test_tokens_for_another_user(logged_in: Cli) -> None:
    _create(logged_in, "hank")
    _json(logged_in, "tokens", "create", "--user", "hank", "--name", "hanks")
    assert [k["name"] for k in _json(logged_in, "tokens", "list", "--user", "hank")] == ["hanks"]


def test_audit_shows_what_the_cli_did(logged_in: Cli) -> None:
    _create(logged_in, "ivan")
    logged_in.ok("tokens", "create", "--name", "audited")
    data = _json(logged_in, "audit", "-q", "resource_type:user action:create")
    assert data["count"] >= 2  # the first user and ivan
    assert {e["resource_target"] for e in data["audit_logs"]} >= {"owner", "ivan"}
    table = logged_in.ok("audit").stdout
    assert "api_key" in table
    assert "login" in table
    bad = logged_in.run("audit", "-q", "nonsense")
    assert bad.exit_code == 1
    assert "q: " in bad.stderr
