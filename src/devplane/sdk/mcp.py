"""Wire types for admin-managed MCP server configurations.

Secrets (`oauth2_client_secret`, `api_key_value`, custom header values) appear only in request
types; responses carry `has_*` flags and header names, never a secret in any form.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

SLUG_PATTERN = r"^[a-z0-9-]{1,64}$"
# RFC 9110 token characters, the only ones allowed in a header name.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
FORBIDDEN_HEADERS = frozenset({"host", "content-length"})
MAX_LIST = 500


class Transport(StrEnum):
    STREAMABLE_HTTP = "streamable_http"
    SSE = "sse"


class AuthType(StrEnum):
    NONE = "none"
    OAUTH2 = "oauth2"
    API_KEY = "api_key"
    CUSTOM_HEADERS = "custom_headers"


class Availability(StrEnum):
    FORCE_ON = "force_on"
    DEFAULT_ON = "default_on"
    DEFAULT_OFF = "default_off"


def _http_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    return value


def _optional_http_url(value: str) -> str:
    value = value.strip()
    return _http_url(value) if value else ""


def _tool_list(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for raw in values:
        item = raw.strip()
        if item:
            seen.setdefault(item, None)
    return list(seen)


def _secret(value: str) -> str:
    # The crypt store keeps a blank secret as "" (unset); say so here, so that the cross-field
    # rules and the has_* flags see "   " as the missing value it is.
    return value if value.strip() else ""


def header_name_problem(name: str) -> str | None:
    if not _TOKEN.match(name):
        return f"'{name}' is not a valid HTTP header name"
    if name.lower() in FORBIDDEN_HEADERS:
        return f"'{name}' cannot be set"
    return None


def _header_name(value: str) -> str:
    value = value.strip()
    if value:
        problem = header_name_problem(value)
        if problem:
            raise ValueError(problem)
    return value


def header_value_problem(value: str) -> str | None:
    """Header values go upstream verbatim: printable ASCII, spaces and tabs only (RFC 9110 field
    values; a line break would let a value add headers of its own)."""
    if "\r" in value or "\n" in value:
        return "contains a line break"
    if not all(" " <= c <= "~" or c == "\t" for c in value):
        return "must be printable ASCII (letters, digits, punctuation, spaces)"
    return None


def _api_key(value: str) -> str:
    value = _secret(value)
    problem = header_value_problem(value)
    if problem:
        raise ValueError(f"the API key {problem}")  # never the value: it is a secret
    return value


def _headers(values: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, value in values.items():
        name = raw_name.strip()
        problem = header_name_problem(name)
        if problem:
            raise ValueError(problem)
        value_problem = header_value_problem(value)
        if value_problem:
            raise ValueError(f"the value of '{name}' {value_problem}")
        if name.lower() in (n.lower() for n in out):
            raise ValueError(f"'{name}' is given twice")
        out[name] = value
    return out


Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1024)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=SLUG_PATTERN),
    Field(description="Lowercase letters, digits and '-', 1-64 characters; unique."),
]
# The patterns document what the validators enforce (json_schema_extra: documentation only, so
# the validators' own messages stay), so clients and fuzzers generate values the server accepts.
_URL_PATTERN = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s:@]"
HttpUrl = Annotated[str, Field(max_length=2048, json_schema_extra={"pattern": _URL_PATTERN}), AfterValidator(_http_url)]
OptionalUrl = Annotated[
    str,
    Field(max_length=2048, json_schema_extra={"pattern": rf"^\s*$|{_URL_PATTERN}"}),
    AfterValidator(_optional_http_url),
]
ToolList = Annotated[
    list[Annotated[str, Field(max_length=256)]],
    Field(max_length=MAX_LIST, description="Exact tool names or shell-style globs (list_*)."),
    AfterValidator(_tool_list),
]
_HEADER_NAME_PATTERN = r"^\s*[!#$%&'*+\-.^_`|~0-9A-Za-z]+\s*$"
_HEADER_VALUE_PATTERN = r"^[\t -~]*$"  # header_value_problem: printable ASCII, spaces and tabs
HeaderName = Annotated[
    str,
    Field(max_length=256, json_schema_extra={"pattern": rf"^\s*$|{_HEADER_NAME_PATTERN}"}),
    AfterValidator(_header_name),
]
Headers = Annotated[
    dict[str, Annotated[str, Field(max_length=8192, json_schema_extra={"pattern": _HEADER_VALUE_PATTERN})]],
    Field(max_length=64, json_schema_extra={"propertyNames": {"pattern": _HEADER_NAME_PATTERN, "maxLength": 256}}),
    AfterValidator(_headers),
]
Secret = Annotated[str, Field(max_length=8192), AfterValidator(_secret)]
APIKey = Annotated[
    str, Field(max_length=8192, json_schema_extra={"pattern": _HEADER_VALUE_PATTERN}), AfterValidator(_api_key)
]


class MCPServerConfig(BaseModel):
    id: uuid.UUID
    display_name: str
    slug: str
    description: str
    icon_url: str
    transport: str = Field(description="streamable_http or sse; blank for members.")
    url: str = Field(description="Blank for members.")
    auth_type: AuthType
    oauth2_client_id: str = ""
    has_oauth2_secret: bool
    oauth2_auth_url: str = ""
    oauth2_token_url: str = ""
    oauth2_revocation_url: str = ""
    oauth2_scopes: str = ""
    api_key_header: str = ""
    has_api_key: bool
    has_custom_headers: bool
    custom_header_names: list[str] = Field(description="Names of the custom headers (values are secret).")
    tool_allow_list: list[str]
    tool_deny_list: list[str]
    availability: Availability
    enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    auth_connected: bool = Field(description="oauth2: you have a usable token; other auth types: always true.")


class CreateMCPServerConfigRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: Name
    slug: Slug
    description: Text = ""
    icon_url: OptionalUrl = ""
    transport: Transport
    url: HttpUrl
    auth_type: AuthType
    oauth2_client_id: Text = ""
    oauth2_client_secret: Secret = ""
    oauth2_auth_url: OptionalUrl = ""
    oauth2_token_url: OptionalUrl = ""
    oauth2_revocation_url: OptionalUrl = ""
    oauth2_scopes: Text = ""
    api_key_header: HeaderName = ""
    api_key_value: APIKey = ""
    custom_headers: Headers = Field(default_factory=dict)
    tool_allow_list: ToolList = Field(default_factory=list)
    tool_deny_list: ToolList = Field(default_factory=list)
    availability: Availability
    enabled: bool = False


def _omit_not_null(schema: dict[str, Any]) -> None:
    """Document PATCH fields as optional but not nullable: the API refuses `null` (omit the
    field instead), while Python callers still leave fields at None to omit them."""
    for name, prop in schema.get("properties", {}).items():
        options = [o for o in prop.get("anyOf", []) if o != {"type": "null"}]
        if "anyOf" in prop and len(options) == 1:
            merged = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
            schema["properties"][name] = {**options[0], **merged}
        elif "anyOf" in prop:
            prop["anyOf"] = options
        prop = schema["properties"][name]
        prop.pop("default", None)


class UpdateMCPServerConfigRequest(BaseModel):
    """Absent fields keep their value; lists and the headers map replace whole; a secret sent as
    "" is cleared. `null` is refused (400), so the document does not offer it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_omit_not_null)

    display_name: Name | None = None
    slug: Slug | None = None
    description: Text | None = None
    icon_url: OptionalUrl | None = None
    transport: Transport | None = None
    url: HttpUrl | None = None
    auth_type: AuthType | None = None
    oauth2_client_id: Text | None = None
    oauth2_client_secret: Secret | None = None
    oauth2_auth_url: OptionalUrl | None = None
    oauth2_token_url: OptionalUrl | None = None
    oauth2_revocation_url: OptionalUrl | None = None
    oauth2_scopes: Text | None = None
    api_key_header: HeaderName | None = None
    api_key_value: APIKey | None = None
    custom_headers: Headers | None = None
    tool_allow_list: ToolList | None = None
    tool_deny_list: ToolList | None = None
    availability: Availability | None = None
    enabled: bool | None = None


class MCPOAuth2DisconnectResponse(BaseModel):
    token_revoked: bool = Field(description="The provider confirmed revocation (RFC 7009).")
    token_revocation_error: str | None = None
