"""Errors of the MCP runtime, each with a short, secret-free reason for status reports."""

from __future__ import annotations


class MCPRuntimeError(Exception):
    status = "error"

    def __init__(self, reason: str) -> None:
        self.reason = reason[:300]
        super().__init__(self.reason)


class AuthRequired(MCPRuntimeError):
    """The user has no usable credential for this server (connect or reconnect)."""

    status = "auth_required"


class UpstreamTimeout(MCPRuntimeError):
    status = "timeout"


class UpstreamError(MCPRuntimeError):
    """The upstream failed, answered garbage, or dropped the session."""


class SessionExpired(UpstreamError):
    """The upstream session is gone and the request was not processed (unknown session id, no
    connection made, session already closed): safe to send once more on a new session."""


class ToolNotAllowed(MCPRuntimeError):
    """The tool is unknown or filtered out by the server's allow/deny lists."""

    status = "not_allowed"
