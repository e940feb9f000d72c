"""`devplane oauth2 ...` against a live server."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.conftest import Cli


def _json(cli: Cli, *args: str) -> Any:
    return json.loads(cli.ok(*args, "--output", "json").stdout)


def test_dcr_switch_apps_and_secrets(logged_in: Cli) -> None:
    assert _json(logged_in, "oauth2", "dcr", "enable")["dynamic_client_registration"] is True
    assert "off" in logged_in.ok("oauth2", "dcr", "disable").stdout
    created = _json(
        logged_in, "oauth2", "apps", "create", "--name", "Team", "--redirect-uri", "https://team.example/cb"
    )
    assert created["token_endpoint_auth_method"] == "client_secret_basic"
    assert [a["name"] for a in _json(logged_in, "oauth2", "apps", "list")] == ["Team"]
    secret = logged_in.ok("oauth2", "secrets", "create", created["id"]).stdout.strip()
    assert secret.startswith("devplane_")
    listed = _json(logged_in, "oauth2", "secrets", "list", created["id"])
    assert listed[0]["secret_prefix"] == secret.split("_")[1]
    assert secret not in json.dumps(listed)
    logged_in.ok("oauth2", "secrets", "delete", created["id"], listed[0]["id"])
    assert _json(logged_in, "oauth2", "secrets", "list", created["id"]) == []
    bad = logged_in.run("oauth2", "apps", "create", "--name", "X", "--redirect-uri", "javascript:alert(1)")
    assert bad.exit_code == 1
    assert "redirect_uris[0]" in bad.output
    logged_in.ok("oauth2", "apps", "delete", created["id"])
    assert _json(logged_in, "oauth2", "apps", "list") == []
    assert _json(logged_in, "oauth2", "authorized") == []
