"""Options shared by `devplane mcp servers create` and `edit`, and their mapping to request fields.

Every option defaults to None, meaning "not given": `edit` sends only what was given (PATCH), and
`create` leaves the rest to the server's defaults. Secrets have no option here at all; see
`mcp_secrets`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from devplane.sdk.mcp import AuthType, Availability, Transport

DisplayName = Annotated[str | None, typer.Option("--display-name", help="Name shown to users.")]
Slug = Annotated[
    str | None,
    typer.Option("--slug", help="Unique handle: lowercase letters, digits and '-'; prefixes tool names (slug__tool)."),
]
# create needs these three; edit takes them as optional (above).
RequiredDisplayName = Annotated[str, typer.Option("--display-name", help="Name shown to users.", show_default=False)]
RequiredSlug = Annotated[
    str,
    typer.Option(
        "--slug",
        help="Unique handle: lowercase letters, digits and '-'; prefixes tool names (slug__tool).",
        show_default=False,
    ),
]
RequiredUrl = Annotated[
    str, typer.Option("--url", help="The MCP endpoint, an absolute http(s) URL.", show_default=False)
]
Description = Annotated[str | None, typer.Option("--description", help="What the server is for.")]
IconUrl = Annotated[str | None, typer.Option("--icon-url", help="An http(s) URL of an icon; '' removes it.")]
TransportOpt = Annotated[
    Transport | None, typer.Option("--transport", case_sensitive=False, help="How to reach the server.")
]
Url = Annotated[str | None, typer.Option("--url", help="The MCP endpoint, an absolute http(s) URL.")]
AuthTypeOpt = Annotated[
    AuthType | None,
    typer.Option(
        "--auth-type",
        case_sensitive=False,
        help="How devplane authenticates upstream. Changing it clears the other types' settings and secrets.",
    ),
]
OAuth2ClientId = Annotated[str | None, typer.Option("--oauth2-client-id", help="OAuth2 client id (auth type oauth2).")]
OAuth2AuthUrl = Annotated[
    str | None, typer.Option("--oauth2-auth-url", help="The provider's authorization endpoint (oauth2).")
]
OAuth2TokenUrl = Annotated[
    str | None, typer.Option("--oauth2-token-url", help="The provider's token endpoint (oauth2).")
]
OAuth2RevocationUrl = Annotated[
    str | None,
    typer.Option("--oauth2-revocation-url", help="Optional RFC 7009 revocation endpoint, used on disconnect (oauth2)."),
]
OAuth2Scopes = Annotated[
    str | None, typer.Option("--oauth2-scopes", help="Space-separated scopes to request (oauth2).")
]
ApiKeyHeader = Annotated[
    str | None, typer.Option("--api-key-header", help="Header that carries the API key, e.g. X-API-Key (api_key).")
]
HeaderNames = Annotated[
    list[str] | None,
    typer.Option(
        "--header-name",
        help="A custom header whose value --prompt-secrets asks for (custom_headers); repeatable. Names only.",
    ),
]
Allow = Annotated[
    list[str] | None,
    typer.Option(
        "--allow",
        help="Offer only these tools: exact names or globs (list_*); repeatable. Replaces the whole list; "
        "--allow '' empties it.",
    ),
]
Deny = Annotated[
    list[str] | None,
    typer.Option(
        "--deny",
        help="Never offer these tools (wins over --allow); repeatable. Replaces the whole list; --deny '' empties it.",
    ),
]
AvailabilityOpt = Annotated[
    Availability | None,
    typer.Option(
        "--availability",
        case_sensitive=False,
        help="force_on: in every chat; default_on: in new chats unless deselected; default_off: opt-in.",
    ),
]
Enabled = Annotated[
    bool | None,
    typer.Option(
        "--enabled/--disabled", help="The kill switch: a disabled server is offered to no one and its sessions close."
    ),
]
OAuth2SecretFile = Annotated[
    str | None,
    typer.Option(
        "--oauth2-client-secret-file",
        metavar="PATH|-",
        help="Read the OAuth2 client secret from this file, or '-' for standard input.",
    ),
]
ApiKeyFile = Annotated[
    str | None,
    typer.Option(
        "--api-key-file", metavar="PATH|-", help="Read the API key from this file, or '-' for standard input."
    ),
]
HeadersFile = Annotated[
    str | None,
    typer.Option(
        "--headers-file",
        metavar="PATH|-",
        help='Read custom headers from this JSON object file ({"Name": "value"}), or \'-\' for standard input.',
    ),
]
PromptSecrets = Annotated[
    bool,
    typer.Option(
        "--prompt-secrets",
        help="Ask for the auth type's secrets with hidden input (API key, client secret, --header-name values).",
    ),
]


def plain_fields(**given: Any) -> dict[str, Any]:
    """The non-secret request fields that were given (None = not given)."""
    renames = {"allow": "tool_allow_list", "deny": "tool_deny_list"}
    return {renames.get(name, name): value for name, value in given.items() if value is not None}
