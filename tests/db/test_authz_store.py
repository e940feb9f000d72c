"""Every `Store` method has an authorization case (coder's dbauthz accounting test).

`test_every_store_method_has_a_case` enumerates the `Store` protocol (minus NON_QUERY_METHODS)
and fails on any method without an entry in CASES; `test_authz_store_defines_every_method`
fails on any method AuthzStore does not implement (in its own class or one of its mixins).

Adding a Store method (e.g. `get_mcp_server_config_by_id`):
1. If the case needs rows, insert them in `seed()` (tests/db/authz_support.py) through the
   raw SqlStore and keep their ids on the World (a field, or `world.extra["config"]`).
2. Add ONE entry to CASES: `"get_mcp_server_config_by_id": [not_found(lambda s, w: ...)]`.
   The helpers are `allowed(call, check=...)`, `not_found(call)` and `forbidden(call)`;
   `actor=` picks who calls: "member" (default; the user `w.me`), "anonymous", or a role
   name such as "auditor" (still `w.me`, holding that role). Give more cases in the list
   when own and others' objects behave differently.

Each case runs in its own transaction on a real migrated DB and is rolled back. A NOT_FOUND
case is re-run as the system, which must succeed: that proves the 404 came from
authorization and not from a row the seed forgot.
"""

from __future__ import annotations

import ast
import inspect
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

import devplane
from devplane.api.state import AppState
from devplane.authz.authorizer import ANONYMOUS, Subject, system_subject
from devplane.db.authz_store import AuthzStore
from devplane.db.crypt_store import CryptStore
from devplane.db.mcp_rows import MCPToolCallFilter
from devplane.db.rows import AuditLogFilter, DBCryptKeyRow
from devplane.db.sql_store import SqlStore
from devplane.db.stack import crypt_stack
from devplane.db.store import NON_QUERY_METHODS, Store
from devplane.errors import DomainError, Forbidden, NotFound
from tests.db.authz_auth_cases import AUTH_CASES
from tests.db.authz_chat_cases import CHAT_ADMIN_CASES
from tests.db.authz_mcp_cases import MCP_CASES
from tests.db.authz_oauth2_cases import OAUTH2_CASES
from tests.db.authz_support import (
    COLUMN,
    NOW,
    Case,
    Outcome,
    World,
    allowed,
    audit_row,
    forbidden,
    ids,
    key_row,
    not_found,
    seed,
    tool_call_row,
    user_row,
)

CASES: dict[str, list[Case]] = {
    # --- users ---
    "count_users": [
        forbidden(lambda s, w: s.count_users()),
        forbidden(lambda s, w: s.count_users(), actor="anonymous"),
    ],
    "lock_first_user": [
        forbidden(lambda s, w: s.lock_first_user()),
        forbidden(lambda s, w: s.lock_first_user(), actor="user-admin"),
    ],
    "get_user_by_id": [
        allowed(lambda s, w: s.get_user_by_id(w.me), check=lambda r, w: r.id == w.me),
        not_found(lambda s, w: s.get_user_by_id(w.other)),
        not_found(lambda s, w: s.get_user_by_id(w.me), actor="anonymous"),
        allowed(lambda s, w: s.get_user_by_id(w.other), actor="auditor"),
    ],
    "get_user_by_username": [
        allowed(lambda s, w: s.get_user_by_username("ME"), check=lambda r, w: r.id == w.me),
        not_found(lambda s, w: s.get_user_by_username("other")),
    ],
    "get_user_by_email": [
        allowed(lambda s, w: s.get_user_by_email("me@example.com")),
        not_found(lambda s, w: s.get_user_by_email("owner@example.com")),
    ],
    "list_users": [
        allowed(lambda s, w: s.list_users(), check=lambda r, w: ids(r, w) == {w.me}),
        allowed(lambda s, w: s.list_users(), actor="anonymous", check=lambda r, w: r == []),
        allowed(lambda s, w: s.list_users(), actor="auditor", check=lambda r, w: len(r) == 3),
    ],
    "insert_user": [
        forbidden(lambda s, w: s.insert_user(user_row("new"))),
        forbidden(lambda s, w: s.insert_user(user_row("new")), actor="auditor"),
        allowed(lambda s, w: s.insert_user(user_row("new")), actor="user-admin"),
    ],
    "update_user_profile": [
        allowed(lambda s, w: s.update_user_profile(w.me, username="me2", email="me2@example.com")),
        not_found(lambda s, w: s.update_user_profile(w.other, username="x", email="x@example.com")),
        forbidden(lambda s, w: s.update_user_profile(w.other, username="x", email="x@example.com"), actor="auditor"),
    ],
    "update_user_password": [
        allowed(lambda s, w: s.update_user_password(w.me, "new-hash")),
        not_found(lambda s, w: s.update_user_password(w.other, "new-hash")),
    ],
    "update_user_status": [
        forbidden(lambda s, w: s.update_user_status(w.me, "suspended")),
        not_found(lambda s, w: s.update_user_status(w.other, "suspended")),
        allowed(lambda s, w: s.update_user_status(w.other, "suspended"), actor="user-admin"),
    ],
    "update_user_roles": [
        forbidden(lambda s, w: s.update_user_roles(w.me, ["owner"])),
        allowed(lambda s, w: s.update_user_roles(w.other, ["auditor"]), actor="user-admin"),
    ],
    "update_user_last_seen": [forbidden(lambda s, w: s.update_user_last_seen(w.me, NOW))],
    "delete_user": [
        forbidden(lambda s, w: s.delete_user(w.me)),
        not_found(lambda s, w: s.delete_user(w.other)),
        forbidden(lambda s, w: s.delete_user(w.other), actor="auditor"),
    ],
    # --- API keys ---
    "insert_api_key": [
        allowed(lambda s, w: s.insert_api_key(key_row(w.me))),
        forbidden(lambda s, w: s.insert_api_key(key_row(w.other))),
        forbidden(lambda s, w: s.insert_api_key(key_row(w.me)), actor="anonymous"),
    ],
    "get_api_key_by_id": [
        allowed(lambda s, w: s.get_api_key_by_id(w.my_key)),
        not_found(lambda s, w: s.get_api_key_by_id(w.other_key)),
    ],
    "list_api_keys_by_user_id": [
        allowed(
            lambda s, w: s.list_api_keys_by_user_id(w.me, None),
            # mine only (the OAuth2 seed adds an access token of mine, issue 12)
            check=lambda r, w: w.my_key in ids(r, w) and all(k.user_id == w.me for k in r),
        ),
        allowed(lambda s, w: s.list_api_keys_by_user_id(w.other, "token"), check=lambda r, w: r == []),
    ],
    "update_api_key_last_used": [forbidden(lambda s, w: s.update_api_key_last_used(w.my_key, NOW))],
    "delete_api_key": [
        allowed(lambda s, w: s.delete_api_key(w.my_key)),
        not_found(lambda s, w: s.delete_api_key(w.other_key)),
    ],
    # --- audit ---
    "insert_audit_log": [forbidden(lambda s, w: s.insert_audit_log(audit_row(w.me)))],
    "list_audit_logs": [
        forbidden(lambda s, w: s.list_audit_logs(AuditLogFilter())),
        allowed(lambda s, w: s.list_audit_logs(AuditLogFilter()), actor="auditor", check=lambda r, w: r[1] == 1),
    ],
    # --- dbcrypt ---
    "get_dbcrypt_keys": [forbidden(lambda s, w: s.get_dbcrypt_keys())],
    "insert_dbcrypt_key": [
        forbidden(lambda s, w: s.insert_dbcrypt_key(DBCryptKeyRow(99, "abcdef0", None, NOW, None, "t")))
    ],
    "revoke_dbcrypt_key": [forbidden(lambda s, w: s.revoke_dbcrypt_key("abcdef0", NOW))],
    "count_encrypted_values": [forbidden(lambda s, w: s.count_encrypted_values(COLUMN, "abcdef0"))],
    "list_encrypted_values": [forbidden(lambda s, w: s.list_encrypted_values(COLUMN, not_key_id=None, limit=1))],
    "update_encrypted_value": [
        forbidden(
            lambda s, w: s.update_encrypted_value(
                COLUMN, str(uuid.uuid4()), expected_key_id=None, value="v", key_id=None
            )
        )
    ],
    # --- MCP tool-call log: written by the system only, read like deployment config ---
    "insert_mcp_tool_calls": [
        forbidden(lambda s, w: s.insert_mcp_tool_calls([tool_call_row(w.me)])),
        forbidden(lambda s, w: s.insert_mcp_tool_calls([tool_call_row(w.me)]), actor="auditor"),
        forbidden(lambda s, w: s.insert_mcp_tool_calls([tool_call_row(w.me)]), actor="anonymous"),
        allowed(lambda s, w: s.insert_mcp_tool_calls([tool_call_row(w.me)]), actor="owner"),
    ],
    "list_mcp_tool_calls": [
        forbidden(lambda s, w: s.list_mcp_tool_calls(MCPToolCallFilter(user_id=w.me))),
        forbidden(lambda s, w: s.list_mcp_tool_calls(MCPToolCallFilter()), actor="user-admin"),
        allowed(
            lambda s, w: s.list_mcp_tool_calls(MCPToolCallFilter()),
            actor="auditor",
            check=lambda r, w: r[1] == 1 and r[0][0].user_id == w.me,
        ),
        allowed(lambda s, w: s.list_mcp_tool_calls(MCPToolCallFilter()), actor="owner", check=lambda r, w: r[1] == 1),
    ],
    # --- change events ---
    "publish_event": [
        allowed(lambda s, w: s.publish_event({"type": "test_event"})),
        allowed(lambda s, w: s.publish_event({"type": "test_event"}), actor="auditor"),
        forbidden(lambda s, w: s.publish_event({"type": "test_event"}), actor="anonymous"),
    ],
}

CASES.update(MCP_CASES)
# OAuth2 provider (issue 12)
CASES.update(OAUTH2_CASES)
CASES.update(CHAT_ADMIN_CASES)  # chat loop (issue 10)
CASES.update(AUTH_CASES)  # issue 9


def protocol_methods() -> set[str]:
    names = {n for n, v in vars(Store).items() if callable(v) and not n.startswith("_")}
    return names - NON_QUERY_METHODS


def _defined_in(cls: type, name: str) -> type | None:
    return next((k for k in cls.__mro__ if k is not object and name in vars(k)), None)


def test_every_store_method_has_a_case() -> None:
    missing = sorted(protocol_methods() - set(CASES))
    assert not missing, f"Store methods without an authorization case in CASES (see module docstring): {missing}"
    stale = sorted(set(CASES) - protocol_methods())
    assert not stale, f"CASES for methods the Store protocol no longer has: {stale}"
    assert all(CASES.values()), "every CASES entry needs at least one case"


@pytest.mark.parametrize("name", sorted(protocol_methods() | NON_QUERY_METHODS))
def test_authz_store_defines_every_method(name: str) -> None:
    # Not via __getattr__ or a pass-through: AuthzStore (or one of its authz mixins) has the code.
    assert "__getattr__" not in {n for k in AuthzStore.__mro__ for n in vars(k)}
    owner = _defined_in(AuthzStore, name)
    assert owner is not None, f"AuthzStore does not define {name}"
    assert not issubclass(SqlStore, owner), f"AuthzStore.{name} comes from SqlStore"
    expected = _shape(getattr(Store, name))
    assert _shape(getattr(AuthzStore, name)) == expected, f"AuthzStore.{name} signature differs from Store's"
    assert _defined_in(SqlStore, name) is not None, f"SqlStore does not implement {name}"
    assert _shape(getattr(SqlStore, name)) == expected, f"SqlStore.{name} signature differs from Store's"


def _shape(fn: Callable[..., Any]) -> list[tuple[Any, str | None, bool]]:
    # Kinds, defaults, and the names callers must spell (keyword-only); positional names may differ.
    return [
        (p.kind, p.name if p.kind is p.KEYWORD_ONLY else None, p.default is p.empty)
        for p in inspect.signature(fn).parameters.values()
    ]


def _subject(actor: str, w: World) -> Subject:
    if actor == "anonymous":
        return ANONYMOUS
    return Subject(user_id=w.me, roles=() if actor == "member" else (actor,))


async def _run(case: Case, store: Store, w: World) -> tuple[Outcome, Any]:
    try:
        result = await case.call(store, w)
    except NotFound:
        return Outcome.NOT_FOUND, None
    except Forbidden:
        return Outcome.FORBIDDEN, None
    return Outcome.ALLOWED, result


FLAT = [(name, i, case) for name, cases in sorted(CASES.items()) for i, case in enumerate(cases)]


@pytest.mark.parametrize(
    ("name", "index", "case"), FLAT, ids=[f"{n}-{i}-{c.actor}-{c.expect.name}" for n, i, c in FLAT]
)
async def test_case(state: AppState, name: str, index: int, case: Case) -> None:
    factory = state.db.session_factory
    async with factory() as session:
        sql = SqlStore(session)
        world = await seed(sql)
        store = cast(Store, AuthzStore(sql, _subject(case.actor, world)))
        outcome, result = await _run(case, store, world)
        assert outcome is case.expect, f"{name} as {case.actor}: expected {case.expect.value}, got {outcome.value}"
        if case.check is not None:
            assert case.check(result, world), f"{name} as {case.actor}: unexpected result {result!r}"
        await session.rollback()
    if case.expect is Outcome.NOT_FOUND:
        async with factory() as session:
            sql = SqlStore(session)
            world = await seed(sql)
            control, _ = await _run(case, cast(Store, AuthzStore(sql, system_subject("test: control run"))), world)
            assert control is Outcome.ALLOWED, f"{name}: the 404 is not from authorization (system got {control})"
            await session.rollback()


# --- escalation -----------------------------------------------------------------------------


async def test_as_system_escalates_and_leaves_the_original_alone(state: AppState) -> None:
    async with state.db.session_factory() as session:
        member = AuthzStore(SqlStore(session), Subject(user_id=uuid.uuid4(), roles=()))
        with pytest.raises(Forbidden):
            await member.count_users()
        system = member.as_system(reason="test: count users")
        assert system.actor.is_system
        assert system.actor.system_reason == "test: count users"
        assert await system.count_users() == 0
        assert not member.actor.is_system
        with pytest.raises(Forbidden):
            await member.count_users()
        with pytest.raises(ValueError, match="reason"):
            member.as_system("")


async def test_crypt_store_as_system_keeps_the_crypt_layer(state: AppState) -> None:
    async with state.db.session_factory() as session:
        store = crypt_stack(session, Subject(user_id=uuid.uuid4(), roles=()), state.keyring)
        escalated = store.as_system("test: keep crypt layer")
        assert isinstance(escalated, CryptStore)
        assert isinstance(escalated.inner, AuthzStore)
        assert escalated.inner.actor.is_system
        assert len(await escalated.get_dbcrypt_keys()) == 1
        with pytest.raises(DomainError):
            await store.get_dbcrypt_keys()


# Escalation entry points. A forwarding wrapper (a function of the same name family that
# takes `reason`) may pass its parameter on; everyone else must write a literal.
_ESCALATIONS = {"as_system", "system", "system_stack", "system_subject"}


def _escalation_calls(tree: ast.AST) -> list[tuple[str | None, ast.Call]]:
    found: list[tuple[str | None, ast.Call]] = []

    def visit(node: ast.AST, func: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Call):
                target = child.func
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
                if name in _ESCALATIONS and (child.args or child.keywords):
                    found.append((func, child))
            visit(child, func)

    visit(tree, None)
    return found


def _reason(call: ast.Call) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == "reason":
            return kw.value
    return call.args[-1] if call.args else None


def test_every_escalation_in_src_gives_a_literal_reason() -> None:
    root = Path(devplane.__file__).parent
    problems, literal_calls = [], 0
    for path in sorted(root.rglob("*.py")):
        for func, call in _escalation_calls(ast.parse(path.read_text(), str(path))):
            reason = _reason(call)
            where = f"{path.relative_to(root)}:{call.lineno}"
            if isinstance(reason, ast.Constant) and isinstance(reason.value, str) and reason.value.strip():
                literal_calls += 1
            elif not (isinstance(reason, ast.Name) and reason.id == "reason" and func in _ESCALATIONS):
                problems.append(f"{where}: {ast.unparse(call)}")
    assert not problems, "escalations without a literal reason:\n" + "\n".join(problems)
    assert literal_calls >= 5, "the scan found too few escalations; is the AST walk broken?"
