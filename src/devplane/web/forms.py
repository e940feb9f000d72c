"""Form helpers: reading a posted form, and errors shown beside fields and in a summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from pydantic import ValidationError

from devplane.errors import DomainError


@dataclass(frozen=True)
class FormError:
    message: str
    detail: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    status: int = 400


def from_domain(exc: DomainError) -> FormError:
    fields = {v.field: v.detail for v in exc.validations or []}
    return FormError(exc.message, exc.detail or "", fields, exc.status_code)


def from_validation(exc: ValidationError) -> FormError:
    fields: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        name = loc[0] if loc else "form"
        fields.setdefault(name, error.get("msg", "Invalid value.").removeprefix("Value error, "))
    return FormError("Check the highlighted fields.", "", fields)


async def read_form(request: Request) -> dict[str, str]:
    """Single-valued fields only (multi-valued ones through `read_multi`); files are refused."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def read_multi(request: Request, name: str) -> list[str]:
    form = await request.form()
    return [v for v in form.getlist(name) if isinstance(v, str)]


def safe_next(value: str | None) -> str:
    """Only a same-origin relative path: `/x`, never `//host`, `/\\host` or a scheme (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(c in value for c in "\r\n\t\\") or ":" in value.split("?", 1)[0]:
        return "/"
    return value
