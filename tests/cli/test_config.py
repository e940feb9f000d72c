"""The CLI session file and how the environment overrides it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from devplane.cli import config


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv(config.ENV_URL, raising=False)
    monkeypatch.delenv(config.ENV_TOKEN, raising=False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_save_is_private_even_with_a_loose_umask_and_an_existing_dir(tmp_path: Path) -> None:
    (tmp_path / "cfg" / "devplane").mkdir(parents=True, mode=0o755)
    old = os.umask(0)
    try:
        path = config.save(config.Session("http://a.test", "id-secret"))
    finally:
        os.umask(old)
    assert path == tmp_path / "cfg" / "devplane" / "session.json"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["session.json"]  # no temp file left behind
    assert config.read_file() == config.Session("http://a.test", "id-secret")


def test_no_session() -> None:
    assert config.current() is None
    assert config.delete() is False


def test_env_wins_over_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    config.save(config.Session("http://a.test", "file-token"))
    assert config.current() == config.Session("http://a.test", "file-token")
    monkeypatch.setenv(config.ENV_TOKEN, "env-token")
    assert config.current() == config.Session("http://a.test", "env-token")
    monkeypatch.setenv(config.ENV_URL, "http://b.test/")
    assert config.current() == config.Session("http://b.test", "env-token")


def test_the_file_token_is_never_sent_to_another_url(monkeypatch: pytest.MonkeyPatch) -> None:
    config.save(config.Session("http://a.test", "file-token"))
    monkeypatch.setenv(config.ENV_URL, "http://evil.test")
    assert config.current() == config.Session("http://evil.test", None)


def test_repr_hides_the_token() -> None:
    assert "secret" not in repr(config.Session("http://a.test", "id-secret"))


def test_unreadable_file_is_no_session(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "devplane" / "session.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert config.read_file() is None
