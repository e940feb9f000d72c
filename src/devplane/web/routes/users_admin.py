"""/admin/users: list, create, roles, suspend/activate (services.users, the viewer's store)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from devplane.errors import DomainError, NotFound
from devplane.sdk.users import CreateUserRequest, RoleName
from devplane.services import users
from devplane.web.forms import FormError, from_domain, from_validation, read_form, read_multi
from devplane.web.session import PageViewer, Viewer
from devplane.web.templating import render

router = APIRouter(prefix="/admin/users", include_in_schema=False)
ROLES = [r.value for r in RoleName if r is not RoleName.MEMBER]


def _admin(viewer: Viewer) -> None:
    if not viewer.can_admin_users:
        raise NotFound("Page not found.")


async def _page(
    request: Request, viewer: Viewer, error: FormError | None = None, values: dict[str, str] | None = None
) -> Response:
    rows = sorted(await viewer.store.list_users(), key=lambda u: u.username)
    return render(
        request,
        "users.html",
        viewer,
        status=error.status if error else 200,
        users=rows,
        roles=ROLES,
        errors=error.fields if error else {},
        form_error=error,
        values=values or {"username": "", "email": ""},
    )


@router.get("")
async def list_page(request: Request, viewer: PageViewer) -> Response:
    _admin(viewer)
    return await _page(request, viewer)


@router.post("")
async def create(request: Request, viewer: PageViewer) -> Response:
    _admin(viewer)
    form = await read_form(request)
    values = {"username": form.get("username", ""), "email": form.get("email", "")}
    try:
        body = CreateUserRequest.model_validate(
            {**values, "password": form.get("password", ""), "roles": await read_multi(request, "roles")}
        )
        await users.create_user(
            viewer.store,
            viewer.ctx,
            email=body.email,
            username=body.username,
            password=body.password,
            roles=[r.value for r in body.roles],
        )
    except ValidationError as exc:
        return await _page(request, viewer, from_validation(exc), values)
    except DomainError as exc:
        await viewer.discard()
        return await _page(request, viewer, from_domain(exc), values)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/{user_id}/status")
async def set_status(request: Request, user_id: uuid.UUID, viewer: PageViewer) -> Response:
    _admin(viewer)
    form = await read_form(request)
    status = "suspended" if form.get("status") == "suspended" else "active"
    row = await viewer.store.get_user_by_id(user_id)
    await users.update_user(
        viewer.store, viewer.ctx, row, username=None, email=None, password=None, old_password=None, status=status
    )
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/{user_id}/roles")
async def set_roles(request: Request, user_id: uuid.UUID, viewer: PageViewer) -> Response:
    _admin(viewer)
    wanted = [r for r in await read_multi(request, "roles") if r in ROLES]
    row = await viewer.store.get_user_by_id(user_id)
    await users.set_roles(viewer.store, viewer.ctx, row, wanted)
    return RedirectResponse("/admin/users", status_code=303)
