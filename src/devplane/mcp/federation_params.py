"""Validation of the gateway's prompts/resources/completion requests, at the edge.

Bad input is a JSON-RPC -32602 naming the field, before any upstream is contacted.
"""

from __future__ import annotations

from typing import Any

from devplane.mcp.federation import INVALID_PARAMS, LIST_METHODS, FederationError

FEDERATED_METHODS = frozenset({*LIST_METHODS, "prompts/get", "resources/read", "completion/complete"})


def _bad(message: str) -> FederationError:
    return FederationError(INVALID_PARAMS, message)


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise _bad(f"{field} must be a non-empty string.")
    return value


def _string_map(value: Any, field: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _bad(f"{field} must be an object of string values.")
    return value


def federated_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The validated parameters of a federated method (raises FederationError)."""
    if method in LIST_METHODS:
        if params.get("cursor") is not None:
            # The gateway never hands out a cursor: every list is answered in one page.
            raise _bad("Unknown cursor: the gateway answers every list in one page.")
        return {}
    if method == "prompts/get":
        return {
            "name": _string(params.get("name"), "name"),
            "arguments": _string_map(params.get("arguments"), "arguments"),
        }
    if method == "resources/read":
        return {"uri": _string(params.get("uri"), "uri")}
    # completion/complete
    ref = params.get("ref")
    if not isinstance(ref, dict) or ref.get("type") not in ("ref/prompt", "ref/resource"):
        raise _bad("ref must be an object with type 'ref/prompt' or 'ref/resource'.")
    if ref["type"] == "ref/prompt":
        checked_ref = {"type": "ref/prompt", "name": _string(ref.get("name"), "ref.name")}
    else:
        checked_ref = {"type": "ref/resource", "uri": _string(ref.get("uri"), "ref.uri")}
    argument = params.get("argument")
    if not isinstance(argument, dict):
        raise _bad("argument must be an object with a name and a value.")
    name = _string(argument.get("name"), "argument.name")
    value = argument.get("value")
    if not isinstance(value, str):
        raise _bad("argument.value must be a string.")
    context = params.get("context")
    if context is not None and not isinstance(context, dict):
        raise _bad("context must be an object.")
    return {
        "ref": checked_ref,
        "argument": {"name": name, "value": value},
        "context": _string_map((context or {}).get("arguments"), "context.arguments"),
    }
