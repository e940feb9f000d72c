"""User lifecycle: first user, creation, profile, status, roles, deletion."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from devplane.authz.authorizer import Object
from devplane.authz.policy import Action, Resource
from devplane.authz.roles import BUILTIN_ROLES, IMPLIED_ROLE, OWNER, PRIVILEGED_ROLES
from devplane.crypto.passwords import check_strength, hash_password_async, verify_password_async
from devplane.db.authz_store import AuthzStore
from devplane.db.rows import UserRow
from devplane.db.store import Store, row_dict
from devplane.errors import BadRequest, Conflict, FieldError, Forbidden
from devplane.services import audit
from devplane.services.context import RequestContext

AUDITED_FIELDS = ("username", "email", "roles", "status")


def _audit_view(row: UserRow) -> dict[str, Any]:
    data = row_dict(row)
    return {k: data[k] for k in AUDITED_FIELDS}


def _check_password(password: str, field: str = "password") -> None:
    problem = check_strength(password)
    if problem:
        raise BadRequest("Password is too weak.", validations=[FieldError(field, problem)])


def _explicit_roles(roles: list[str]) -> list[str]:
    # `member` is implied for everyone; storing it would only create two spellings of one state.
    return sorted({r for r in roles if r != IMPLIED_ROLE})


def _authz(store: Store) -> AuthzStore | None:
    inner: Any = store
    while inner is not None and not isinstance(inner, AuthzStore):
        inner = getattr(inner, "inner", None)
    return inner


def _actor_is_owner(store: Store) -> bool:
    authz = _authz(store)
    return authz is not None and (authz.actor.is_system or OWNER.name in authz.actor.roles)


def can(store: Store, action: Action, obj: Object) -> bool:
    """Ask the authz layer for a yes/no without raising (used to shape responses)."""
    authz = _authz(store)
    return authz is not None and authz.can(action, obj)


async def resolve(store: Store, actor_id: uuid.UUID, ref: str) -> UserRow:
    """`{user}` in a path: `me`, a UUID or a username."""
    if ref == "me":
        return await store.get_user_by_id(actor_id)
    try:
        return await store.get_user_by_id(uuid.UUID(ref))
    except ValueError:
        return await store.get_user_by_username(ref)


async def first_user_exists(store: Store) -> bool:
    return await store.as_system(reason="check whether the first user exists").count_users() > 0


async def create_first_user(store: Store, ctx: RequestContext, *, email: str, username: str, password: str) -> UserRow:
    await store.as_system(reason="serialize first-user set-up").lock_first_user()
    if await first_user_exists(store):
        raise Conflict("The first user has already been created.", detail="Log in, or ask an owner for an account.")
    _check_password(password)
    row = await store.as_system(reason="create the first user").insert_user(
        await _new_user(email=email, username=username, password=password, roles=[OWNER.name])
    )
    await audit.record(
        store,
        ctx,
        action="create",
        resource_type="user",
        resource_id=row.id,
        target=row.username,
        status_code=201,
        changes=audit.diff(None, _audit_view(row)),
        user_id=row.id,
        username=row.username,
    )
    return row


async def _new_user(*, email: str, username: str, password: str, roles: list[str]) -> UserRow:
    now = dt.datetime.now(dt.UTC)
    return UserRow(
        id=uuid.uuid4(),
        email=email.lower(),
        username=username,
        hashed_password=await hash_password_async(password),
        roles=tuple(_explicit_roles(roles)),
        status="active",
        created_at=now,
        updated_at=now,
        last_seen_at=None,
    )


def _check_assignable(store: Store, roles: list[str]) -> None:
    unknown = [r for r in roles if r not in BUILTIN_ROLES]
    if unknown:
        raise BadRequest("Unknown role.", validations=[FieldError("roles", f"unknown role(s): {', '.join(unknown)}")])
    if set(roles) & PRIVILEGED_ROLES and not _actor_is_owner(store):
        raise Forbidden("Only an owner can assign the owner role.")


async def create_user(
    store: Store, ctx: RequestContext, *, email: str, username: str, password: str, roles: list[str]
) -> UserRow:
    _check_password(password)
    explicit = _explicit_roles(roles)
    if explicit and not can(store, Action.ASSIGN, Object(Resource.ASSIGN_ROLE)):
        raise Forbidden("Not authorized to assign roles.")
    _check_assignable(store, explicit)
    row = await store.insert_user(await _new_user(email=email, username=username, password=password, roles=explicit))
    await audit.record(
        store,
        ctx,
        action="create",
        resource_type="user",
        resource_id=row.id,
        target=row.username,
        status_code=201,
        changes=audit.diff(None, _audit_view(row)),
    )
    return row


async def update_user(
    store: Store,
    ctx: RequestContext,
    user: UserRow,
    *,
    username: str | None,
    email: str | None,
    password: str | None,
    old_password: str | None,
    status: str | None,
) -> UserRow:
    before = user
    after = user
    if username is not None or email is not None:
        after = await store.update_user_profile(
            user.id, username=username or user.username, email=(email or user.email).lower()
        )
    if password is not None:
        _check_password(password)
        if user.id == ctx.user_id and not await verify_password_async(user.hashed_password, old_password or ""):
            raise BadRequest(
                "Old password is incorrect.",
                validations=[FieldError("old_password", "Give your current password to change it.")],
            )
        after = await store.update_user_password(user.id, await hash_password_async(password))
    if status is not None and status != user.status:
        if user.id == ctx.user_id:
            raise BadRequest("You cannot change your own status.")
        await suspend_guard(store, user, status)
        after = await store.update_user_status(user.id, status)
    changes = audit.diff(_audit_view(before), _audit_view(after))
    if password is not None:
        changes["hashed_password"] = {"old": audit.SECRET_CHANGED, "new": audit.SECRET_CHANGED, "secret": True}
    if changes:
        await audit.record(
            store,
            ctx,
            action="write",
            resource_type="user",
            resource_id=user.id,
            target=after.username,
            status_code=200,
            changes=changes,
        )
    return after


async def set_roles(store: Store, ctx: RequestContext, user: UserRow, roles: list[str]) -> UserRow:
    explicit = _explicit_roles(roles)
    _check_assignable(store, explicit)
    removed = set(user.roles) - set(explicit)
    if removed & PRIVILEGED_ROLES and not _actor_is_owner(store):
        raise Forbidden("Only an owner can remove the owner role.")
    if OWNER.name in removed:
        await _ensure_other_owner(store, user.id)
    after = await store.update_user_roles(user.id, explicit)
    await audit.record(
        store,
        ctx,
        action="write",
        resource_type="user",
        resource_id=user.id,
        target=user.username,
        status_code=200,
        changes=audit.diff({"roles": list(user.roles)}, {"roles": list(after.roles)}),
    )
    return after


async def _ensure_other_owner(store: Store, user_id: uuid.UUID) -> None:
    users = await store.as_system(reason="keep at least one owner").list_users()
    if not any(OWNER.name in u.roles and u.status == "active" and u.id != user_id for u in users):
        raise BadRequest("At least one active owner must remain.")


async def delete_user(store: Store, ctx: RequestContext, user: UserRow) -> None:
    if user.id == ctx.user_id:
        raise BadRequest("You cannot delete yourself.")
    if OWNER.name in user.roles:
        if not _actor_is_owner(store):
            raise Forbidden("Only an owner can delete an owner.")
        await _ensure_other_owner(store, user.id)
    await store.delete_user(user.id)
    await audit.record(
        store,
        ctx,
        action="delete",
        resource_type="user",
        resource_id=user.id,
        target=user.username,
        status_code=204,
        changes=audit.diff(_audit_view(user), None),
    )


async def suspend_guard(store: Store, user: UserRow, status: str | None) -> None:
    if status == "suspended" and OWNER.name in user.roles:
        if not _actor_is_owner(store):
            raise Forbidden("Only an owner can suspend an owner.")
        await _ensure_other_owner(store, user.id)
