"""Built-in site roles, with the grants of coder's site roles (reference section 9)."""

from __future__ import annotations

from dataclasses import dataclass, field

from devplane.authz.policy import Action, Resource

ALL = frozenset(Action)


@dataclass(frozen=True)
class Role:
    name: str
    display_name: str
    # Grants on every object of the resource.
    site: dict[Resource, frozenset[Action]] = field(default_factory=dict)
    # Grants only on objects the subject owns (their own user record, keys, chats).
    user: dict[Resource, frozenset[Action]] = field(default_factory=dict)


OWNER = Role("owner", "Owner", site={Resource.WILDCARD: ALL})

MEMBER = Role(
    "member",
    "Member",
    site={Resource.ASSIGN_ROLE: frozenset({Action.READ})},
    user={
        Resource.USER: frozenset({Action.READ, Action.READ_PERSONAL, Action.UPDATE_PERSONAL}),
        Resource.API_KEY: frozenset({Action.CREATE, Action.READ, Action.UPDATE, Action.DELETE}),
        Resource.CHAT: frozenset({Action.CREATE, Action.READ, Action.UPDATE, Action.DELETE}),
        Resource.MCP_USER_TOKEN: frozenset({Action.CREATE, Action.READ, Action.UPDATE, Action.DELETE}),
    },
)

AUDITOR = Role(
    "auditor",
    "Auditor",
    site={
        Resource.AUDIT_LOG: frozenset({Action.READ}),
        Resource.USER: frozenset({Action.READ}),
        Resource.DEPLOYMENT_CONFIG: frozenset({Action.READ}),
        # chat loop (issue 10): admins' model setup is deployment configuration auditors may read.
        Resource.CHAT_PROVIDER: frozenset({Action.READ}),
        Resource.CHAT_MODEL_CONFIG: frozenset({Action.READ}),
    },
)

USER_ADMIN = Role(
    "user-admin",
    "User Admin",
    site={
        Resource.USER: frozenset(
            {
                Action.CREATE,
                Action.READ,
                Action.UPDATE,
                Action.DELETE,
                Action.READ_PERSONAL,
                Action.UPDATE_PERSONAL,
            }
        ),
        Resource.ASSIGN_ROLE: frozenset({Action.READ, Action.ASSIGN, Action.UNASSIGN}),
    },
)

BUILTIN_ROLES: dict[str, Role] = {r.name: r for r in (OWNER, MEMBER, AUDITOR, USER_ADMIN)}

# Every user implicitly has `member`; stored roles are the extra ones.
IMPLIED_ROLE = MEMBER.name
# Roles only an owner may hand out (coder: user-admins cannot mint owners).
PRIVILEGED_ROLES = frozenset({OWNER.name})
