"""What both SDK adapters share when they classify a failure as a `ProviderError`.

The SDKs raise their own exception trees (same shape: status errors with the response, connection
and timeout errors, and, mid-stream, raw httpx2 transport errors the SDK does not wrap). The
classification is the loop's contract: retryable means "the same request may succeed later".
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx2

from devplane.chat.provider import ErrorKind, ProviderError

# Providers and OpenAI-compatible servers word an over-long prompt differently; these cover
# OpenAI ("maximum context length", code context_length_exceeded), Anthropic ("prompt is too
# long"), vLLM/Ollama/llama.cpp ("context length", "context window", "exceeds the context").
_CONTEXT_LENGTH = re.compile(
    r"context[_ ]length|context window|maximum context|prompt is too long|too many tokens|exceeds the context",
    re.IGNORECASE,
)
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_error", "billing_hard_limit_reached", "quota_exceeded"})
_QUOTA_TEXT = re.compile(r"quota|billing|credit balance|payment required", re.IGNORECASE)
_MAX_MESSAGE_CHARS = 1000


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` (preferred) or `retry-after` (seconds or HTTP date)."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            delay = float(value)
        except ValueError:
            continue
        if math.isfinite(delay) and delay >= 0:
            return delay / divisor
    raw = headers.get("retry-after")
    if raw is None:
        return None
    parsed = email.utils.parsedate_tz(raw)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - time.time())


def redact(text: str, secret: str | None) -> str:
    """The message with the API key removed (a provider may echo it back), and bounded."""
    if secret:
        text = text.replace(secret, "***")
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[:_MAX_MESSAGE_CHARS] + "…"


def body_error(body: object) -> Mapping[str, Any]:
    """The `error` object of a provider's error JSON (both wrap it the same way), or {}."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            return inner
    return {}


def classify_status(
    *,
    provider: str,
    status: int | None,
    error_type: str | None,
    code: str | None,
    message: str,
    headers: Mapping[str, str] | None,
) -> ProviderError:
    """One HTTP (or in-stream) error → ProviderError. `status` is None for an in-stream error event."""
    retry_after = parse_retry_after(headers)
    markers = {error_type or "", code or ""}
    kind: ErrorKind
    retryable: bool
    if markers & _QUOTA_CODES or status == 402 or (status == 400 and _QUOTA_TEXT.search(message)):
        kind, retryable = "usage_limit", False
    elif status == 529 or "overloaded_error" in markers:
        kind, retryable = "overloaded", True
    elif status == 429 or "rate_limit_error" in markers or "rate_limit_exceeded" in markers:
        kind, retryable = "rate_limit", True
    elif status == 408 or "timeout_error" in markers:
        kind, retryable = "timeout", True
    elif status in (401, 403) or markers & {"authentication_error", "permission_error"}:
        kind, retryable = "auth", False
    elif status == 404 or "not_found_error" in markers:
        kind, retryable = "not_found", False
    elif markers & {"content_filter", "content_policy_violation"}:
        kind, retryable = "content_filter", False
    elif "context_length_exceeded" in markers or (status in (400, 413, 422, None) and _CONTEXT_LENGTH.search(message)):
        kind, retryable = "context_length", False
    elif (status is not None and status >= 500) or (status is None and "api_error" in markers):
        kind, retryable = "generic", True
    elif status == 409:
        # OpenAI and Anthropic both answer 409 for a transient lock conflict; their SDKs retry it.
        kind, retryable = "generic", True
    elif status is not None and 400 <= status < 500:
        kind, retryable = "bad_request", False
    else:
        kind, retryable = "generic", False
    label = f"{status} " if status is not None else ""
    return ProviderError(
        f"{provider}: {label}{kind.replace('_', ' ')}: {message}",
        kind=kind,
        provider=provider,
        retryable=retryable,
        status_code=status,
        retry_after=retry_after,
    )


def timeout_error(provider: str) -> ProviderError:
    return ProviderError(
        f"{provider}: timed out waiting for the model", kind="timeout", provider=provider, retryable=True
    )


def connection_error(provider: str, exc: BaseException) -> ProviderError:
    """A failed or dropped connection; named by the underlying error's type, never its text (URLs)."""
    cause = exc.__cause__ or exc
    return ProviderError(
        f"{provider}: connection to the model failed: {type(cause).__name__}",
        kind="connection",
        provider=provider,
        retryable=True,
    )


def raw_transport_error(provider: str, exc: httpx2.TransportError) -> ProviderError:
    """httpx2 errors the SDK lets through unwrapped (a body read that fails mid-stream)."""
    if isinstance(exc, httpx2.TimeoutException):
        return timeout_error(provider)
    return connection_error(provider, exc)


def stream_ended_early(provider: str) -> ProviderError:
    """The stream ended cleanly but without its final event: a proxy or server cut it short."""
    return ProviderError(
        f"{provider}: the stream ended before the model finished", kind="connection", provider=provider, retryable=True
    )


def malformed_stream(provider: str, exc: ValueError) -> ProviderError:
    """An event that is not the JSON the wire promises (a broken proxy or server); named, not quoted."""
    return ProviderError(
        f"{provider}: the model's stream was malformed ({type(exc).__name__})",
        kind="generic",
        provider=provider,
        retryable=False,
    )
