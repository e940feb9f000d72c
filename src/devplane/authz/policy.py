"""The one permission vocabulary: every resource, the actions it supports, and what each means.

Mirrors coder's `rbac/policy`. Roles (roles.py) may only grant what is listed here; a test
fails on any (role, resource, action) triple that no case covers.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    READ_PERSONAL = "read_personal"
    UPDATE_PERSONAL = "update_personal"
    ASSIGN = "assign"
    UNASSIGN = "unassign"


class Resource(StrEnum):
    WILDCARD = "*"
    USER = "user"
    API_KEY = "api_key"
    AUDIT_LOG = "audit_log"
    DEPLOYMENT_CONFIG = "deployment_config"
    ASSIGN_ROLE = "assign_role"
    SYSTEM = "system"
    DBCRYPT_KEY = "dbcrypt_key"
    CHAT = "chat"
    MCP_USER_TOKEN = "mcp_user_token"  # noqa: S105 - a resource name, not a token
    # --- chat loop (issue 10) ---
    CHAT_PROVIDER = "chat_provider"
    CHAT_MODEL_CONFIG = "chat_model_config"


# resource -> action -> one-line description. The source of truth for what exists.
PERMISSIONS: dict[Resource, dict[Action, str]] = {
    Resource.USER: {
        Action.CREATE: "create a new user",
        Action.READ: "read a user's public profile (username, roles, status)",
        Action.UPDATE: "update another user's profile or status (suspend, activate)",
        Action.DELETE: "delete a user",
        Action.READ_PERSONAL: "read personal data such as email and login history",
        Action.UPDATE_PERSONAL: "update personal data such as password",
    },
    Resource.API_KEY: {
        Action.CREATE: "create an API key or session token",
        Action.READ: "list API keys and read their metadata (never the secret)",
        Action.UPDATE: "update key metadata such as last-used time",
        Action.DELETE: "revoke an API key",
    },
    Resource.AUDIT_LOG: {
        Action.CREATE: "write an audit entry",
        Action.READ: "read the audit log",
    },
    Resource.DEPLOYMENT_CONFIG: {
        Action.READ: (
            "read deployment-wide configuration and operational data "
            "(MCP server configs, the MCP tool-call log, metrics)"
        ),
        Action.UPDATE: "change deployment-wide configuration (including MCP server configs)",
    },
    Resource.ASSIGN_ROLE: {
        Action.READ: "list the roles that exist",
        Action.ASSIGN: "grant a role to a user",
        Action.UNASSIGN: "take a role from a user",
    },
    Resource.SYSTEM: {
        Action.CREATE: "create internal system state",
        Action.READ: "read internal system state",
        Action.UPDATE: "update internal system state",
        Action.DELETE: "delete internal system state",
    },
    Resource.DBCRYPT_KEY: {
        Action.CREATE: "register an encryption key",
        Action.READ: "read encryption key digests and status",
        Action.UPDATE: "revoke an encryption key or re-encrypt data with the primary key",
    },
    Resource.MCP_USER_TOKEN: {
        Action.CREATE: "connect your account to an MCP server (store an OAuth2 token)",
        Action.READ: "use or inspect a stored MCP OAuth2 token",
        Action.UPDATE: "refresh a stored MCP OAuth2 token",
        Action.DELETE: "disconnect from an MCP server (delete the token)",
    },
    Resource.CHAT: {
        Action.CREATE: "start an AI chat",
        Action.READ: "read a chat and its messages",
        Action.UPDATE: "post messages or change a chat's MCP server selection",
        Action.DELETE: "delete a chat",
    },
    # --- chat loop (issue 10) ---
    Resource.CHAT_PROVIDER: {
        Action.CREATE: "register an AI model provider (and its API key)",
        Action.READ: "list AI model providers and their settings (never the API key)",
        Action.UPDATE: "change an AI model provider's settings or API key",
        Action.DELETE: "remove an AI model provider",
    },
    Resource.CHAT_MODEL_CONFIG: {
        Action.CREATE: "offer a model in the chat model picker",
        Action.READ: "list model configs, including disabled and deleted ones",
        Action.UPDATE: "change a model config (options, default, enabled)",
        Action.DELETE: "remove a model config from the picker",
    },
}


def all_triples() -> list[tuple[Resource, Action]]:
    return [(resource, action) for resource, actions in PERMISSIONS.items() for action in actions]
