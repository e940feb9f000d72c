"""Deployment settings: every field is an env var `DEVPLANE_<NAME>` and a `devplane server` flag."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

KNOWN_EXPERIMENTS: dict[str, str] = {
    "agents": "AI chats and admin-governed MCP server access.",
}


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("devplane", appauthor=False))


class Settings(BaseSettings):
    """Server configuration. Field descriptions double as `--help` text and README reference."""

    model_config = SettingsConfigDict(env_prefix="DEVPLANE_", extra="ignore")

    http_address: str = Field("127.0.0.1:3000", description="Address the HTTP server listens on (host:port).")
    access_url: str = Field("", description="URL users reach the server at; default derived from --http-address.")
    data_dir: Path = Field(default_factory=_default_data_dir, description="Directory for the SQLite file and keys.")
    pg_url: str = Field("", description="PostgreSQL URL; when set, SQLite is not used.")
    experiments: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated experiments to enable; '*' for all."
    )
    external_token_encryption_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated base64 32-byte keys; the first encrypts, all decrypt.",
    )
    session_duration_seconds: int = Field(24 * 3600, ge=60, description="Lifetime of a login session token.")
    max_api_key_lifetime_seconds: int = Field(
        365 * 24 * 3600, ge=60, description="Longest lifetime an API key may be created with."
    )
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Largest accepted request body.")
    login_rate_limit: int = Field(
        10, ge=1, description="Login attempts allowed per account and per client address per window."
    )
    login_rate_window_seconds: int = Field(60, ge=1, description="Window of the login rate limit.")
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")
    mcp_connect_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Time to connect to an upstream MCP server and list its tools."
    )
    mcp_call_timeout_seconds: float = Field(60.0, gt=0, le=3600, description="Time an upstream tool call may take.")
    mcp_max_result_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest upstream tool result accepted, per call."
    )
    mcp_catalog_ttl_seconds: float = Field(
        300.0, ge=0, description="How long an upstream's tool list is cached (list_changed refreshes it sooner)."
    )
    mcp_session_idle_seconds: float = Field(
        600.0, gt=0, description="Idle upstream MCP sessions are closed after this long."
    )
    token_cache_seconds: float = Field(
        5.0, ge=0, le=60, description="How long the MCP gateway trusts a checked token (revocation lag)."
    )
    trusted_proxies: bool = Field(
        False,
        description="Take the client address from X-Forwarded-For (its last entry: set this only behind "
        "one reverse proxy you run, which appends the address it saw).",
    )
    # --- chat loop (issue 10) ---
    chat_worker_lease_seconds: float = Field(
        300.0, gt=0, le=86400, description="A running chat whose worker stopped heartbeating this long is taken over."
    )
    chat_worker_concurrency: int = Field(8, ge=1, le=1000, description="Chat turns one replica runs at once.")
    chat_max_steps: int = Field(
        50, ge=1, le=1200, description="Model calls per chat turn before it stops with a notice."
    )
    chat_tool_result_max_bytes: int = Field(
        64 * 1024, ge=1024, description="Text of a tool result sent to the model; the rest is cut with a notice."
    )
    chat_stream_silence_seconds: float = Field(
        120.0, gt=0, le=3600, description="A model stream silent this long fails the attempt (it is retried)."
    )

    # --- OAuth2 provider (issue 12) ---------------------------------------------------------
    oauth2_provider_enable: bool = Field(
        False,
        description="Serve devplane as an OAuth2 authorization server for the MCP gateway (/oauth2/*, "
        "/.well-known metadata); MCP clients then sign in instead of using a pasted token.",
    )
    oauth2_rate_limit: int = Field(
        60, ge=1, description="Requests per minute allowed per client address on each /oauth2/* endpoint."
    )

    # --- database outage (issue 9) ---
    database_timeout_seconds: float = Field(
        5.0,
        gt=0,
        le=300,
        description="Longest wait for the database (a pooled or new connection, SQLite's write lock); "
        "past it a request answers 503 with Retry-After.",
    )

    @field_validator("experiments", "external_token_encryption_keys", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("experiments")
    @classmethod
    def _known_experiments(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e != "*" and e not in KNOWN_EXPERIMENTS]
        if unknown:
            known = ", ".join(sorted(KNOWN_EXPERIMENTS))
            raise ValueError(f"unknown experiment(s) {', '.join(unknown)}; known: {known}")
        return value

    @field_validator("access_url")
    @classmethod
    def _absolute_access_url(cls, value: str) -> str:
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("must be an absolute http(s) URL, e.g. https://devplane.example.com")
        return value.rstrip("/")

    @field_validator("http_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("must be host:port, e.g. 127.0.0.1:3000")
        return value

    @property
    def host(self) -> str:
        return self.http_address.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.http_address.rpartition(":")[2])

    @property
    def effective_access_url(self) -> str:
        if self.access_url:
            return self.access_url
        host = self.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - we only turn a wildcard into a reachable name
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def secure_cookies(self) -> bool:
        return self.effective_access_url.startswith("https://")

    @property
    def enabled_experiments(self) -> list[str]:
        if "*" in self.experiments:
            return sorted(KNOWN_EXPERIMENTS)
        return sorted(set(self.experiments))

    @property
    def database_url(self) -> str:
        if self.pg_url:
            return to_asyncpg_url(self.pg_url)
        return f"sqlite+aiosqlite:///{self.data_dir / 'devplane.db'}"

    @property
    def uses_sqlite(self) -> bool:
        return not self.pg_url


def to_asyncpg_url(url: str) -> str:
    """Accept the usual `postgres://` / `postgresql://` spellings and pin the async driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url
