"""Wire types for users, sessions, API keys and roles."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, EmailStr, Field, StringConstraints

USERNAME_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,30}[a-z0-9])?$"


def fold_username(value: object) -> object:
    """Usernames are case-insensitive: `Alice` is stored as `alice`. Folded before the length and
    pattern checks (pydantic's own `to_lower` runs after its pattern check, which refused `Alice`).
    Only ASCII is folded, so a look-alike such as the Kelvin sign (which lowercases to `k`) is
    refused by the pattern rather than turned into a plain letter."""
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    return stripped.lower() if stripped.isascii() else stripped


Username = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=USERNAME_PATTERN),
    BeforeValidator(fold_username),
    Field(
        description="1-32 chars: letters, digits, '-' and '_'; starts and ends alphanumeric. "
        "Letters are folded to lowercase (`Alice` becomes `alice`), surrounding spaces dropped."
    ),
]
# The bounds are devplane.crypto.passwords' MIN_LENGTH and MAX_LENGTH (the sdk imports nothing of
# ours; tests/api/test_openapi_bounds.py checks they agree). The minimum is documented here and
# enforced by the server's strength check, whose 400 says what is wrong with a weak password.
Password = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        json_schema_extra={"minLength": 8},
        description="8-256 characters mixing at least two of lowercase, uppercase, digits and symbols.",
    ),
]


class UserStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class RoleName(StrEnum):
    OWNER = "owner"
    MEMBER = "member"
    AUDITOR = "auditor"
    USER_ADMIN = "user-admin"


class User(BaseModel):
    id: uuid.UUID
    username: str
    email: str | None = Field(None, description="Shown only to the user and to those who may read personal data.")
    roles: list[RoleName] = Field(description="Explicit roles; every user is also a member.")
    status: UserStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    last_seen_at: dt.datetime | None = None


class CreateFirstUserRequest(BaseModel):
    email: EmailStr
    username: Username
    password: Password


class CreateUserRequest(BaseModel):
    email: EmailStr
    username: Username
    password: Password
    roles: list[RoleName] = Field(default_factory=list)


class UpdateUserRequest(BaseModel):
    """Absent fields are left as they are."""

    username: Username | None = None
    email: EmailStr | None = None
    password: Password | None = None
    old_password: str | None = Field(None, description="Required when changing your own password.")
    status: UserStatus | None = None


class UpdateRolesRequest(BaseModel):
    roles: list[RoleName]


class LoginRequest(BaseModel):
    email: EmailStr
    password: Annotated[str, Field(max_length=256)]


class LoginResponse(BaseModel):
    session_token: str


class CreateAPIKeyRequest(BaseModel):
    lifetime_seconds: int | None = Field(
        None,
        ge=60,
        le=2**31 - 1,  # every integer input is bounded (issue 9); the deployment's own maximum is lower
        description="Defaults to 30 days; at most the deployment's maximum API key lifetime.",
    )
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = ""


class CreateAPIKeyResponse(BaseModel):
    key: str = Field(description="The token. Shown once; only a hash is stored.")


class APIKey(BaseModel):
    id: str
    user_id: uuid.UUID
    name: str
    login_type: str
    lifetime_seconds: int
    expires_at: dt.datetime
    created_at: dt.datetime
    last_used_at: dt.datetime


class Role(BaseModel):
    name: str
    display_name: str
