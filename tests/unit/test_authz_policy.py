"""Table test of the built-in roles: every (role, resource, action) triple has an expected verdict.

The table is data, written out by hand, not derived from roles.py: a grant that changes by
accident fails here. Adding a resource or an action to `PERMISSIONS` fails
`test_every_triple_has_a_case` until each role gets a row for it below.

Verdicts:
- ANY: allowed on everyone's objects (and on objects that have no owner);
- OWN: allowed only on objects the subject owns (their own user record, keys, chats);
- NO: denied.
Every user is implicitly a `member`, so other roles also carry member's OWN grants.
"""

from __future__ import annotations

import uuid
from enum import Enum

import pytest

from devplane.authz.authorizer import ANONYMOUS, Object, Subject, authorize, system_subject
from devplane.authz.policy import PERMISSIONS, Action, Resource, all_triples
from devplane.authz.roles import BUILTIN_ROLES, PRIVILEGED_ROLES


class V(Enum):
    ANY = "any"
    OWN = "own"
    NO = "no"


ANY, OWN, NO = V.ANY, V.OWN, V.NO
R, A = Resource, Action

_MEMBER_OWN_CRUD = {A.CREATE: OWN, A.READ: OWN, A.UPDATE: OWN, A.DELETE: OWN}
_DENY_CRUD = {A.CREATE: NO, A.READ: NO, A.UPDATE: NO, A.DELETE: NO}

EXPECTED: dict[str, dict[Resource, dict[Action, V]]] = {
    "owner": {
        R.USER: {
            A.CREATE: ANY,
            A.READ: ANY,
            A.UPDATE: ANY,
            A.DELETE: ANY,
            A.READ_PERSONAL: ANY,
            A.UPDATE_PERSONAL: ANY,
        },
        R.API_KEY: {A.CREATE: ANY, A.READ: ANY, A.UPDATE: ANY, A.DELETE: ANY},
        R.AUDIT_LOG: {A.CREATE: ANY, A.READ: ANY},
        R.DEPLOYMENT_CONFIG: {A.READ: ANY, A.UPDATE: ANY},
        R.ASSIGN_ROLE: {A.READ: ANY, A.ASSIGN: ANY, A.UNASSIGN: ANY},
        R.SYSTEM: {A.CREATE: ANY, A.READ: ANY, A.UPDATE: ANY, A.DELETE: ANY},
        R.DBCRYPT_KEY: {A.CREATE: ANY, A.READ: ANY, A.UPDATE: ANY},
        R.MCP_USER_TOKEN: {A.CREATE: ANY, A.READ: ANY, A.UPDATE: ANY, A.DELETE: ANY},
        R.CHAT: {A.CREATE: ANY, A.READ: ANY, A.UPDATE: ANY, A.DELETE: ANY},
        R.CHAT_PROVIDER: {A.CREATE: ANY, A.READ: ANY, A.UPDATE: ANY, A.DELETE: ANY},
        R.CHAT_MODEL_CONFIG: {A.CREATE: ANY, A.READ: ANY, A.UPDATE: ANY, A.DELETE: ANY},
    },
    "member": {
        R.USER: {
            A.CREATE: NO,
            A.READ: OWN,
            A.UPDATE: NO,
            A.DELETE: NO,
            A.READ_PERSONAL: OWN,
            A.UPDATE_PERSONAL: OWN,
        },
        R.API_KEY: dict(_MEMBER_OWN_CRUD),
        R.AUDIT_LOG: {A.CREATE: NO, A.READ: NO},
        R.DEPLOYMENT_CONFIG: {A.READ: NO, A.UPDATE: NO},
        R.ASSIGN_ROLE: {A.READ: ANY, A.ASSIGN: NO, A.UNASSIGN: NO},
        R.SYSTEM: dict(_DENY_CRUD),
        R.DBCRYPT_KEY: {A.CREATE: NO, A.READ: NO, A.UPDATE: NO},
        R.MCP_USER_TOKEN: dict(_MEMBER_OWN_CRUD),
        R.CHAT: dict(_MEMBER_OWN_CRUD),
        R.CHAT_PROVIDER: dict(_DENY_CRUD),
        R.CHAT_MODEL_CONFIG: dict(_DENY_CRUD),
    },
    "auditor": {
        R.USER: {
            A.CREATE: NO,
            A.READ: ANY,
            A.UPDATE: NO,
            A.DELETE: NO,
            A.READ_PERSONAL: OWN,
            A.UPDATE_PERSONAL: OWN,
        },
        R.API_KEY: dict(_MEMBER_OWN_CRUD),
        R.AUDIT_LOG: {A.CREATE: NO, A.READ: ANY},
        R.DEPLOYMENT_CONFIG: {A.READ: ANY, A.UPDATE: NO},
        R.ASSIGN_ROLE: {A.READ: ANY, A.ASSIGN: NO, A.UNASSIGN: NO},
        R.SYSTEM: dict(_DENY_CRUD),
        R.DBCRYPT_KEY: {A.CREATE: NO, A.READ: NO, A.UPDATE: NO},
        R.MCP_USER_TOKEN: dict(_MEMBER_OWN_CRUD),
        R.CHAT: dict(_MEMBER_OWN_CRUD),
        R.CHAT_PROVIDER: {A.CREATE: NO, A.READ: ANY, A.UPDATE: NO, A.DELETE: NO},
        R.CHAT_MODEL_CONFIG: {A.CREATE: NO, A.READ: ANY, A.UPDATE: NO, A.DELETE: NO},
    },
    "user-admin": {
        R.USER: {
            A.CREATE: ANY,
            A.READ: ANY,
            A.UPDATE: ANY,
            A.DELETE: ANY,
            A.READ_PERSONAL: ANY,
            A.UPDATE_PERSONAL: ANY,
        },
        R.API_KEY: dict(_MEMBER_OWN_CRUD),
        R.AUDIT_LOG: {A.CREATE: NO, A.READ: NO},
        R.DEPLOYMENT_CONFIG: {A.READ: NO, A.UPDATE: NO},
        R.ASSIGN_ROLE: {A.READ: ANY, A.ASSIGN: ANY, A.UNASSIGN: ANY},
        R.SYSTEM: dict(_DENY_CRUD),
        R.DBCRYPT_KEY: {A.CREATE: NO, A.READ: NO, A.UPDATE: NO},
        R.MCP_USER_TOKEN: dict(_MEMBER_OWN_CRUD),
        R.CHAT: dict(_MEMBER_OWN_CRUD),
        R.CHAT_PROVIDER: dict(_DENY_CRUD),
        R.CHAT_MODEL_CONFIG: dict(_DENY_CRUD),
    },
}

ME = uuid.UUID("00000000-0000-4000-8000-000000000001")
OTHER = uuid.UUID("00000000-0000-4000-8000-000000000002")


def _table_triples() -> set[tuple[str, Resource, Action]]:
    return {(role, res, act) for role, table in EXPECTED.items() for res, acts in table.items() for act in acts}


def _policy_triples() -> set[tuple[str, Resource, Action]]:
    return {(role, res, act) for role in BUILTIN_ROLES for res, act in all_triples()}


def test_every_triple_has_a_case() -> None:
    missing = sorted(_policy_triples() - _table_triples())
    assert not missing, f"(role, resource, action) triples with no case in EXPECTED: {missing}"


def test_no_case_for_a_triple_that_does_not_exist() -> None:
    stale = sorted(_table_triples() - _policy_triples())
    assert not stale, f"EXPECTED has cases for triples not in PERMISSIONS/BUILTIN_ROLES: {stale}"


# Parametrised from the policy, not from the table, so a new triple shows up as a failing case too.
@pytest.mark.parametrize(
    ("role", "resource", "action"),
    sorted(_policy_triples()),
    ids=lambda v: str(v),
)
def test_role_grants(role: str, resource: Resource, action: Action) -> None:
    verdict = EXPECTED.get(role, {}).get(resource, {}).get(action)
    assert verdict is not None, f"no case for ({role}, {resource}, {action})"
    subject = Subject(user_id=ME, roles=(role,))
    own = authorize(subject, action, Object(resource, owner_id=ME))
    others = authorize(subject, action, Object(resource, owner_id=OTHER))
    unowned = authorize(subject, action, Object(resource))
    assert (own, others, unowned) == {
        ANY: (True, True, True),
        OWN: (True, False, False),
        NO: (False, False, False),
    }[verdict], f"{role} {action} {resource}: expected {verdict.value}"


def test_roles_only_grant_actions_the_policy_lists() -> None:
    # The wildcard (owner) is exempt; every named grant must be in the vocabulary.
    for role in BUILTIN_ROLES.values():
        for grants in (role.site, role.user):
            for resource, actions in grants.items():
                if resource is Resource.WILDCARD:
                    continue
                assert resource in PERMISSIONS, f"{role.name} grants unknown resource {resource}"
                extra = actions - set(PERMISSIONS[resource])
                assert not extra, f"{role.name} grants {sorted(extra)} on {resource}, which PERMISSIONS lacks"


def test_every_action_has_a_one_line_description() -> None:
    for resource, actions in PERMISSIONS.items():
        assert resource is not Resource.WILDCARD
        for action, description in actions.items():
            assert description.strip(), f"{resource}.{action} has no description"
            assert "\n" not in description, f"{resource}.{action}: description must be one line"


@pytest.mark.parametrize(("resource", "action"), all_triples(), ids=str)
def test_anonymous_is_denied_and_system_is_allowed(resource: Resource, action: Action) -> None:
    assert not authorize(ANONYMOUS, action, Object(resource, owner_id=None))
    assert authorize(system_subject("test: table"), action, Object(resource, owner_id=OTHER))


def test_grants_combine_across_roles() -> None:
    # An auditor who is also a user-admin can read the audit log and create users.
    subject = Subject(user_id=ME, roles=("auditor", "user-admin"))
    assert authorize(subject, Action.READ, Object(Resource.AUDIT_LOG))
    assert authorize(subject, Action.CREATE, Object(Resource.USER, owner_id=OTHER))
    assert not authorize(subject, Action.UPDATE, Object(Resource.DEPLOYMENT_CONFIG))


def test_unknown_stored_role_grants_nothing_beyond_member() -> None:
    subject = Subject(user_id=ME, roles=("wizard",))
    assert not authorize(subject, Action.READ, Object(Resource.USER, owner_id=OTHER))
    assert authorize(subject, Action.READ, Object(Resource.USER, owner_id=ME))


def test_only_owner_is_privileged() -> None:
    assert frozenset({"owner"}) == PRIVILEGED_ROLES
    assert set(EXPECTED) == set(BUILTIN_ROLES)
