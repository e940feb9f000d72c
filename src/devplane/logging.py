"""Structured JSON logs. Keyword-only fields; secrets are redacted as a second line of defence."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from devplane import fastjson

# Any field whose name contains one of these is replaced before rendering. Code must not log
# secrets in the first place; this catches mistakes like logging a whole header dict.
_SECRET_MARKERS = ("authorization", "token", "password", "secret", "cookie", "api_key", "code_verifier")
REDACTED = "[redacted]"


@functools.lru_cache(maxsize=4096)
def _is_secret(key: str) -> bool:
    # Cached: field names come from code, a small set, and this ran for every field of every
    # line (a quarter of the cost of the access log line every request writes).
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key in ("event", "level", "timestamp", "logger"):
            continue
        if _is_secret(key):
            event[key] = REDACTED
    return event


def _serialize(event: Any, default: Any = None, **_: Any) -> str:
    # Perf: orjson renders the access line every request writes about 3x faster than json.dumps.
    return fastjson.dumps(event, default=default).decode()


def configure(level: str = "info", stream: Any = None, *, final: bool = False) -> None:
    """Set up JSON logging. `final=True` (the server process, configured once) lets each logger
    bind its processors on first use instead of on every call (perf: a sixth of the access
    log's cost); tests reconfigure logging to capture it, so they keep the default."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_serialize),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=final,
    )
    # Library loggers (uvicorn, sqlalchemy) go through stdlib logging: keep them quiet and
    # never let uvicorn's access log print full URLs (query strings can carry OAuth codes).
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=stream or sys.stderr, format="%(message)s")
    logging.getLogger("uvicorn.access").disabled = True
