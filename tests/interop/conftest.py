"""Interop tests run a live devplane like the MCP runtime suite does: the same fixtures."""

from tests.mcp_runtime.conftest import admin, farm, live, mcp_settings

__all__ = ["admin", "farm", "live", "mcp_settings"]
