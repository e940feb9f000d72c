"""Pure authorization decisions. No I/O: the store wrappers call this."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from devplane.authz.policy import Action, Resource
from devplane.authz.roles import BUILTIN_ROLES, IMPLIED_ROLE, Role


@dataclass(frozen=True)
class Subject:
    """Who is acting. `system` subjects carry the reason they escalated, for the log."""

    user_id: uuid.UUID | None
    roles: tuple[str, ...]
    system_reason: str | None = None

    @property
    def is_system(self) -> bool:
        return self.system_reason is not None

    def role_objects(self) -> list[Role]:
        names = {IMPLIED_ROLE, *self.roles}
        return [BUILTIN_ROLES[n] for n in sorted(names) if n in BUILTIN_ROLES]


@dataclass(frozen=True)
class Object:
    resource: Resource
    owner_id: uuid.UUID | None = None


ANONYMOUS = Subject(user_id=None, roles=())


def system_subject(reason: str) -> Subject:
    return Subject(user_id=None, roles=(), system_reason=reason)


def _grants(perms: dict[Resource, frozenset[Action]], resource: Resource, action: Action) -> bool:
    return any(action in perms.get(key, frozenset()) for key in (resource, Resource.WILDCARD))


def authorize(subject: Subject, action: Action, obj: Object) -> bool:
    if subject.is_system:
        return True
    if subject.user_id is None:
        return False
    owns = obj.owner_id is not None and obj.owner_id == subject.user_id
    for role in subject.role_objects():
        if _grants(role.site, obj.resource, action):
            return True
        if owns and _grants(role.user, obj.resource, action):
            return True
    return False
