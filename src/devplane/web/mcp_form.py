"""The MCP server form <-> the API's request types. The form never carries a stored secret: a
blank secret field keeps the stored value, an explicit "Clear" box sends "" (cleared)."""

from __future__ import annotations

from typing import Any

from devplane.errors import BadRequest, FieldError
from devplane.sdk.mcp import CreateMCPServerConfigRequest, MCPServerConfig, UpdateMCPServerConfigRequest

SECRETS = ("oauth2_client_secret", "api_key_value", "custom_headers")
PLAIN = (
    "display_name",
    "slug",
    "description",
    "icon_url",
    "transport",
    "url",
    "auth_type",
    "oauth2_client_id",
    "oauth2_auth_url",
    "oauth2_token_url",
    "oauth2_revocation_url",
    "oauth2_scopes",
    "api_key_header",
    "availability",
)
AVAILABILITY = (
    ("force_on", "Always on", "Every chat gets this server; users cannot turn it off."),
    ("default_on", "On by default", "New chats start with it; users may turn it off."),
    ("default_off", "Off by default", "Users turn it on per chat when they want it."),
)
AUTH_TYPES = (
    ("none", "None"),
    ("oauth2", "OAuth2 (each user connects their own account)"),
    ("api_key", "API key (one shared key, sent as a header)"),
    ("custom_headers", "Custom headers (shared)"),
)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _headers(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(
                "Check the highlighted fields.",
                validations=[FieldError("custom_headers", f"Line {number} is not 'Name: value'.")],
            )
        out[name.strip()] = value.strip()
    return out


def values(form: dict[str, str], allow: str, deny: str, *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {name: form.get(name, "") for name in PLAIN}
    out["enabled"] = form.get("enabled") == "on"
    out["tool_allow_list"] = _lines(allow)
    out["tool_deny_list"] = _lines(deny)
    for name in ("oauth2_client_secret", "api_key_value"):
        given = form.get(name, "")
        if given or creating:
            out[name] = given
        elif form.get(f"clear_{name}"):
            out[name] = ""
    headers = form.get("custom_headers", "")
    if headers.strip() or creating:
        out["custom_headers"] = _headers(headers)
    elif form.get("clear_custom_headers"):
        out["custom_headers"] = {}
    return out


def create_request(data: dict[str, Any]) -> CreateMCPServerConfigRequest:
    return CreateMCPServerConfigRequest.model_validate(data)


def update_request(data: dict[str, Any]) -> UpdateMCPServerConfigRequest:
    return UpdateMCPServerConfigRequest.model_validate(data)


def shown(config: MCPServerConfig | None, form: dict[str, str] | None = None) -> dict[str, Any]:
    """What the form shows: the posted values after a failed submit (secrets never echoed), else
    the config's, else the defaults of a new server."""
    if form is not None:
        data: dict[str, Any] = {name: form.get(name, "") for name in PLAIN}
        data["enabled"] = form.get("enabled") == "on"
        data["tool_allow_list"] = form.get("tool_allow_list", "")
        data["tool_deny_list"] = form.get("tool_deny_list", "")
    elif config is not None:
        data = {name: str(getattr(config, name)) for name in PLAIN}
        data["enabled"] = config.enabled
        data["tool_allow_list"] = "\n".join(config.tool_allow_list)
        data["tool_deny_list"] = "\n".join(config.tool_deny_list)
    else:
        data = dict.fromkeys(PLAIN, "")
        data.update(transport="streamable_http", auth_type="none", availability="default_off", enabled=True)
        data.update(tool_allow_list="", tool_deny_list="")
    data["has_oauth2_secret"] = bool(config and config.has_oauth2_secret)
    data["has_api_key"] = bool(config and config.has_api_key)
    data["has_custom_headers"] = bool(config and config.has_custom_headers)
    data["custom_header_names"] = ", ".join(config.custom_header_names) if config else ""
    return data
