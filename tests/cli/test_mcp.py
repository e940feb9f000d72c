"""`devplane mcp ...` and `devplane chats ...` against a live server (experiment `agents` on).

Secrets are sentinels: every output of every command is searched for them, and so are the
server's logs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from tests.cli.conftest import Cli
from tests.factories import MEMBER_PASSWORD
from tests.fixtures.mcp_servers import UpstreamMCPServer
from tests.live import LiveServer

API_KEY = "SENTINEL-cli-api-key-4e1d"
API_KEY_2 = "SENTINEL-cli-api-key-rotated-77aa"
CLIENT_SECRET = "SENTINEL-cli-client-secret-a9f0"
HEADER_VALUE = "SENTINEL-cli-header-value-03bb"
SENTINELS = (API_KEY, API_KEY_2, CLIENT_SECRET, HEADER_VALUE)

OAUTH2_FLAGS = (
    "--auth-type", "oauth2",
    "--oauth2-client-id", "cid-123",
    "--oauth2-auth-url", "https://idp.example.com/authorize",
    "--oauth2-token-url", "https://idp.example.com/token",
    "--oauth2-scopes", "read write",
)  # fmt: skip


class SecretWatch:
    """Runs commands and fails the test if a sentinel shows up in anything they print."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.seen: list[Result] = []

    def run(self, *args: str, input: str | None = None) -> Result:
        result = self.cli.run(*args, input=input)
        self.seen.append(result)
        for sentinel in SENTINELS:
            assert sentinel not in result.stdout, f"secret printed by devplane {' '.join(args)}"
            assert sentinel not in result.stderr, f"secret printed by devplane {' '.join(args)}"
        return result

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self.run(*args, input=input)
        assert result.exit_code == 0, f"devplane {' '.join(args)} -> {result.exit_code}\n{result.output}"
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--output", "json", input=input).stdout)

    def fails(self, *args: str, input: str | None = None) -> Result:
        result = self.run(*args, input=input)
        assert result.exit_code == 1, f"devplane {' '.join(args)} -> {result.exit_code}\n{result.output}"
        assert result.stderr.startswith("error: "), result.output
        assert "Traceback" not in result.output
        return result


@pytest.fixture
def dp(logged_in: Cli, live_server: LiveServer) -> Iterator[SecretWatch]:
    watch = SecretWatch(logged_in)
    yield watch
    logs = live_server.logs.getvalue()
    for sentinel in SENTINELS:
        assert sentinel not in logs, "a secret reached the server's logs"


def _secret_file(tmp_path: Path, value: str, name: str = "secret") -> str:
    path = tmp_path / name
    path.write_text(value + "\n")  # the newline `echo key > file` leaves must not be sent
    path.chmod(0o600)
    return str(path)


def _create(dp: SecretWatch, slug: str, *flags: str, input: str | None = None) -> dict[str, Any]:
    args = ["mcp", "servers", "create", "--display-name", f"Server {slug}", "--slug", slug]
    url = () if "--url" in flags else ("--url", f"https://{slug}.example.com/mcp")
    result: dict[str, Any] = dp.json(*args, *url, *flags, input=input)
    return result


def _member(dp: SecretWatch, live_server: LiveServer, name: str = "mia") -> SecretWatch:
    args = ["users", "create", "--email", f"{name}@example.com", "--username", name, "--password-stdin"]
    dp.ok(*args, input=MEMBER_PASSWORD + "\n")
    home = dp.cli.home / name
    member = Cli(home=home, env={**dp.cli.env, "XDG_CONFIG_HOME": str(home)})
    member.ok(
        "login", live_server.url, "--email", f"{name}@example.com", "--password-stdin", input=MEMBER_PASSWORD + "\n"
    )
    return SecretWatch(member)


def test_create_with_an_api_key_from_a_file_then_list_and_show(dp: SecretWatch, tmp_path: Path) -> None:
    created = _create(
        dp, "search",
        "--auth-type", "api_key", "--api-key-header", "X-Api-Key", "--api-key-file", _secret_file(tmp_path, API_KEY),
        "--availability", "default_on", "--enabled", "--description", "Web search", "--allow", "search_*",
    )  # fmt: skip
    assert created["has_api_key"] is True
    assert created["api_key_header"] == "X-Api-Key"
    assert created["tool_allow_list"] == ["search_*"]
    assert created["enabled"] is True
    assert "api_key_value" not in created

    listed = dp.json("mcp", "servers", "list")
    assert [s["slug"] for s in listed] == ["search"]
    table = dp.ok("mcp", "servers", "list").stdout
    for header in ("SLUG", "NAME", "TRANSPORT", "AUTH", "AVAILABILITY", "ENABLED", "CONNECTED"):
        assert header in table
    assert "search" in table
    assert "api_key" in table
    assert "default_on" in table

    assert dp.json("mcp", "servers", "show", "search")["id"] == created["id"]
    assert dp.json("mcp", "servers", "show", created["id"])["slug"] == "search"
    shown = dp.ok("mcp", "servers", "show", "search").stdout
    assert "has_api_key" in shown
    assert "Web search" in shown


def test_secrets_from_stdin_and_from_a_prompt(dp: SecretWatch, tmp_path: Path) -> None:
    from_stdin = _create(
        dp, "stdin-key", "--auth-type", "api_key", "--api-key-header", "X-Key", "--api-key-file", "-",
        input=API_KEY + "\n",
    )  # fmt: skip
    assert from_stdin["has_api_key"] is True

    headers = tmp_path / "headers.json"
    headers.write_text(json.dumps({"X-Team": HEADER_VALUE}))
    from_file = _create(dp, "hdrs", "--auth-type", "custom_headers", "--headers-file", str(headers))
    assert from_file["custom_header_names"] == ["X-Team"]
    assert from_file["has_custom_headers"] is True

    prompted = _create(
        dp, "prompted", "--auth-type", "custom_headers", "--header-name", "X-Env", "--prompt-secrets",
        input=HEADER_VALUE + "\n",
    )  # fmt: skip
    assert prompted["custom_header_names"] == ["X-Env"]

    oauth = _create(dp, "oauth-prompted", *OAUTH2_FLAGS, "--prompt-secrets", input=CLIENT_SECRET + "\n")
    assert oauth["has_oauth2_secret"] is True


def test_secret_sources_are_checked_before_anything_is_sent(dp: SecretWatch, tmp_path: Path) -> None:
    base = ["mcp", "servers", "create", "--display-name", "X", "--slug", "x", "--url", "https://x.example.com/mcp"]
    no_value = dp.fails(*base, "--auth-type", "custom_headers", "--header-name", "X-Team")
    assert "no value for header X-Team" in no_value.stderr
    assert "--headers-file" in no_value.stderr

    missing = dp.fails(*base, "--auth-type", "api_key", "--api-key-header", "X-K", "--api-key-file", "/nonexistent")
    assert "--api-key-file: cannot read /nonexistent" in missing.stderr

    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"X-Team": ' + HEADER_VALUE)  # broken JSON: its parser error would quote the secret
    assert "JSON object" in dp.fails(*base, "--auth-type", "custom_headers", "--headers-file", str(bad_json)).stderr

    two_stdin = dp.run(*base, *OAUTH2_FLAGS, "--oauth2-client-secret-file", "-", "--headers-file", "-")
    assert two_stdin.exit_code == 2
    assert "only one secret can come from standard input" in two_stdin.stderr

    assert dp.json("mcp", "servers", "list") == []


def test_edit_sends_only_the_given_fields(dp: SecretWatch, tmp_path: Path) -> None:
    before = _create(
        dp, "edit-me", "--auth-type", "api_key", "--api-key-header", "X-Api-Key",
        "--api-key-file", _secret_file(tmp_path, API_KEY), "--description", "keep me", "--allow", "a", "--deny", "b",
    )  # fmt: skip

    after = dp.json("mcp", "servers", "edit", "edit-me", "--display-name", "Renamed")
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"display_name", "updated_at"}

    after = dp.json("mcp", "servers", "edit", "edit-me", "--deny", "c", "--deny", "d", "--enabled")
    assert after["tool_deny_list"] == ["c", "d"]
    assert after["tool_allow_list"] == ["a"]
    assert after["enabled"] is True

    rotated = dp.json("mcp", "servers", "edit", "edit-me", "--api-key-file", _secret_file(tmp_path, API_KEY_2, "new"))
    assert rotated["has_api_key"] is True
    assert rotated["description"] == "keep me"
    assert dp.json("mcp", "servers", "edit", "edit-me", "--allow", "")["tool_allow_list"] == []

    # The API refuses an api_key server without its key; the CLI shows the validation.
    cleared = dp.fails("mcp", "servers", "edit", "edit-me", "--clear-api-key")
    assert "api_key_value" in cleared.stderr

    assert "Nothing to change." in dp.fails("mcp", "servers", "edit", "edit-me").stderr

    oauth = _create(
        dp, "oauth-edit", *OAUTH2_FLAGS, "--oauth2-client-secret-file", _secret_file(tmp_path, CLIENT_SECRET)
    )
    assert oauth["has_oauth2_secret"] is True
    assert dp.json("mcp", "servers", "edit", "oauth-edit", "--clear-oauth2-client-secret")["has_oauth2_secret"] is False


def test_delete(dp: SecretWatch) -> None:
    created = _create(dp, "doomed")
    kept = dp.run("mcp", "servers", "delete", "doomed", input="n\n")
    assert kept.exit_code == 1
    assert "[y/N]" in kept.stderr  # the question goes to stderr, never into JSON on stdout
    assert "error: Not deleted." in kept.stderr
    assert dp.json("mcp", "servers", "show", "doomed")["id"] == created["id"]

    assert "Deleted MCP server 'doomed'." in dp.ok("mcp", "servers", "delete", "doomed", "--yes").stdout
    assert dp.json("mcp", "servers", "list") == []
    assert "not found" in dp.fails("mcp", "servers", "show", created["id"]).stderr.lower()


def test_unknown_server_and_member_errors(dp: SecretWatch, live_server: LiveServer) -> None:
    unknown = dp.fails("mcp", "servers", "show", "nope")
    assert "No MCP server 'nope'." in unknown.stderr
    assert dp.fails("mcp", "connect", "nope", "--no-browser").stdout == ""

    _create(dp, "visible", "--enabled", "--auth-type", "none")
    member = _member(dp, live_server)
    listed = member.json("mcp", "servers", "list")
    assert [s["slug"] for s in listed] == ["visible"]
    assert listed[0]["url"] == ""  # members see no connection details

    refused = member.fails("mcp", "servers", "create", "--display-name", "M", "--slug", "m", "--url", "https://m.test/")
    assert refused.stderr == "error: Only administrators can manage MCP server configs.\n"  # the API's 403
    assert "Only administrators" in member.fails("mcp", "servers", "delete", "visible", "--yes").stderr
    assert "Only administrators" in member.fails("mcp", "servers", "tools", "visible").stderr


def test_connect_and_disconnect(dp: SecretWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = _create(
        dp, "idp", *OAUTH2_FLAGS, "--enabled", "--oauth2-client-secret-file", _secret_file(tmp_path, CLIENT_SECRET)
    )
    printed = dp.ok("mcp", "connect", "idp", "--no-browser")
    url = printed.stdout.strip()
    assert url.endswith(f"/api/experimental/mcp/servers/{server['id']}/oauth2/connect")
    assert "signed in to devplane" in printed.stderr

    opened: list[str] = []

    def fake_open(target: str) -> bool:
        opened.append(target)
        return True

    monkeypatch.setattr("webbrowser.open", fake_open)
    assert dp.json("mcp", "connect", "idp")["url"] == url
    assert opened == [url]

    assert "Disconnected your account from 'idp'." in dp.ok("mcp", "disconnect", "idp").stdout
    dp.ok("mcp", "disconnect", "idp")  # idempotent

    _create(dp, "plain", "--enabled")
    assert "no account of yours to connect" in dp.fails("mcp", "connect", "plain", "--no-browser").stderr
    _create(dp, "idp-off", *OAUTH2_FLAGS)
    assert "disabled" in dp.fails("mcp", "connect", "idp-off", "--no-browser").stderr


def test_chats_create_list_show(dp: SecretWatch) -> None:
    on = _create(dp, "on", "--enabled", "--availability", "default_on")
    opt = _create(dp, "opt", "--enabled", "--availability", "default_off")

    default = dp.json("chats", "create", "--title", "defaults")
    assert default["mcp_server_ids"] == [on["id"]]
    chosen = dp.json("chats", "create", "--server", "opt", "--server", "on")
    assert chosen["mcp_server_ids"] == [opt["id"], on["id"]]
    none = dp.json("chats", "create", "--no-servers")
    assert none["mcp_server_ids"] == []

    assert {c["id"] for c in dp.json("chats", "list")} == {default["id"], chosen["id"], none["id"]}
    table = dp.ok("chats", "list").stdout
    assert "defaults" in table
    assert "opt, on" in table  # ids shown as slugs
    assert dp.json("chats", "show", chosen["id"])["effective_mcp_server_ids"] == [opt["id"], on["id"]]

    assert "No MCP server 'ghost'." in dp.fails("chats", "create", "--server", "ghost").stderr
    assert dp.run("chats", "create", "--server", "on", "--no-servers").exit_code == 2


def test_gateway_url(dp: SecretWatch, live_server: LiveServer) -> None:
    _create(dp, "alpha", "--enabled")
    _create(dp, "beta", "--enabled")
    gateway = f"{live_server.url}/api/experimental/mcp/gateway"
    token = json.loads(dp.cli.session_file.read_text())["token"]

    result = dp.ok("mcp", "gateway-url", "--servers", "alpha,beta")
    url, _, snippet = result.stdout.partition("\n")
    assert url == f"{gateway}?servers=alpha,beta"
    entry = json.loads(snippet)["mcpServers"]["devplane"]
    assert entry == {"url": url, "headers": {"Authorization": "Bearer <YOUR_DEVPLANE_API_KEY>"}}
    assert token not in result.output

    chat = dp.json("chats", "create", "--server", "alpha")
    data = dp.json("mcp", "gateway-url", "--chat", chat["id"])
    assert data["url"] == f"{gateway}?chat_id={chat['id']}"
    assert token not in json.dumps(data)

    shown = dp.json("mcp", "gateway-url", "--show-token")
    assert shown["mcpServers"]["devplane"] == {"url": gateway, "headers": {"Authorization": f"Bearer {token}"}}

    assert "No MCP server 'gamma'." in dp.fails("mcp", "gateway-url", "--servers", "alpha,gamma").stderr
    assert dp.run("mcp", "gateway-url", "--chat", chat["id"], "--servers", "alpha").exit_code == 2


def test_server_tools_and_chat_tools_against_a_real_upstream(dp: SecretWatch, tmp_path: Path) -> None:
    with UpstreamMCPServer(require_header=("X-Api-Key", API_KEY)) as upstream:
        _create(
            dp, "up", "--url", upstream.url, "--auth-type", "api_key", "--api-key-header", "X-Api-Key",
            "--api-key-file", _secret_file(tmp_path, API_KEY), "--deny", "boom", "--availability", "default_on",
        )  # fmt: skip
        checked = dp.json("mcp", "servers", "tools", "up", "--refresh")  # disabled, still checkable
        assert checked["server"]["status"] == "connected"
        allowed = {t["name"]: t["allowed"] for t in checked["tools"]}
        assert allowed["echo"] is True
        assert allowed["boom"] is False
        table = dp.ok("mcp", "servers", "tools", "up")
        assert "up: connected" in table.stdout
        assert "ALLOWED" in table.stdout

        dp.ok("mcp", "servers", "edit", "up", "--enabled")
        chat = dp.json("chats", "create")
        tools = dp.json("chats", "tools", chat["id"])
        names = {t["name"] for t in tools["tools"]}
        assert "up__echo" in names
        assert "up__boom" not in names
        assert tools["servers"][0]["status"] == "connected"
        assert "up__echo" in dp.ok("chats", "tools", chat["id"]).stdout

        echoed = dp.ok("chats", "call", chat["id"], "up__echo", "--args", '{"text": "hello"}')
        assert "hello" in echoed.stdout
        failed = dp.run("chats", "call", chat["id"], "up__fail", "--args", '{"message": "nope"}', "-o", "json")
        assert failed.exit_code == 1
        assert json.loads(failed.stdout)["is_error"] is True
        assert "up__boom" in dp.fails("chats", "call", chat["id"], "up__boom").stderr
