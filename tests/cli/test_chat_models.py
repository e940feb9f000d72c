"""`devplane chats providers|models|system-prompt` against a live server (issue 10).

The API key is a sentinel: no output of any command, and no server log line, may contain it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.cli.test_mcp import SecretWatch, _member
from tests.live import LiveServer

KEY = "SENTINEL-cli-openai-key-5c2b"


@pytest.fixture
def dp(logged_in: Cli, live_server: LiveServer) -> Iterator[SecretWatch]:
    watch = SecretWatch(logged_in)
    yield watch
    assert KEY not in live_server.logs.getvalue(), "the provider key reached the server's logs"


def _watch_key(result_text: str) -> None:
    assert KEY not in result_text


def test_providers_models_and_picker(dp: SecretWatch, live_server: LiveServer, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    openai = dp.json("chats", "providers", "create", "openai", "--api-key-file", str(key_file))
    _watch_key(str(openai))
    assert openai["has_api_key"] is True
    echo = dp.json("chats", "providers", "create", "echo", "--display-name", "Echo")
    assert echo["is_test_provider"] is True
    table = dp.ok("chats", "providers", "list").stdout
    assert "echo (test)" in table
    assert "set" in table  # the openai key, as a flag only

    model = dp.json("chats", "models", "create", "echo", "echo-1", "--context-limit", "4096", "--default")
    assert model["is_default"] is True
    tuned = dp.json(
        "chats", "models", "create", "openai", "gpt-x", "--context-limit", "1000",
        "--temperature", "0.2", "--no-parallel-tool-calls",
    )  # fmt: skip
    assert tuned["options"]["temperature"] == 0.2
    assert tuned["options"]["parallel_tool_calls"] is False
    assert {m["model"] for m in dp.json("chats", "models", "list", "--all")} == {"echo-1", "gpt-x"}

    # Members see the picker, with availability, but not the admin listing.
    mia = _member(dp, live_server)
    catalog = mia.json("chats", "models", "list")
    assert {p["provider"]: p["available"] for p in catalog["providers"]} == {"echo": True, "openai": True}
    mia.fails("chats", "models", "list", "--all")
    mia.fails("chats", "providers", "create", "anthropic")

    dp.ok("chats", "providers", "edit", "openai", "--disabled", "--clear-api-key")
    catalog = mia.json("chats", "models", "list")
    assert {p["provider"]: p["unavailable_reason"] for p in catalog["providers"]}["openai"] == "provider_disabled"
    assert "no (provider_disabled)" in mia.ok("chats", "models", "list").stdout

    dp.ok("chats", "models", "edit", tuned["id"], "--default", "--top-p", "0.9")
    listed = {m["model"]: m for m in dp.json("chats", "models", "list", "--all")}
    assert listed["gpt-x"]["is_default"] is True
    assert {k: v for k, v in listed["gpt-x"]["options"].items() if v is not None} == {"top_p": 0.9}
    assert listed["echo-1"]["is_default"] is False
    dp.ok("chats", "models", "delete", tuned["id"])
    assert {m["model"] for m in dp.json("chats", "models", "list", "--all")} == {"echo-1"}
    dp.ok("chats", "providers", "delete", "openai", "--yes")
    assert [p["provider"] for p in dp.json("chats", "providers", "list")] == ["echo"]

    # Errors: a duplicate provider, an unknown option value.
    assert "already registered" in dp.fails("chats", "providers", "create", "echo").stderr
    dp.fails("chats", "models", "create", "echo", "x", "--context-limit", "0")


def test_system_prompt(dp: SecretWatch, tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Answer in haiku.\n")
    dp.ok("chats", "system-prompt", "set", str(prompt))
    assert dp.ok("chats", "system-prompt", "show").stdout.strip() == "Answer in haiku."
    dp.ok("chats", "system-prompt", "set", "-", input="")
    assert dp.ok("chats", "system-prompt", "show").stdout.strip() == ""
