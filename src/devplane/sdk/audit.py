"""Wire types for the audit log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field


class AuditDiffEntry(BaseModel):
    old: Any = None
    new: Any = None
    secret: bool = Field(False, description="True when the values are withheld: they read '[secret changed]'.")


class AuditLog(BaseModel):
    id: uuid.UUID
    time: dt.datetime
    user_id: uuid.UUID | None
    username: str
    action: str
    resource_type: str
    resource_id: str
    resource_target: str
    ip: str
    user_agent: str
    request_id: str
    status_code: int
    diff: dict[str, AuditDiffEntry]


class AuditLogsResponse(BaseModel):
    audit_logs: list[AuditLog]
    count: int = Field(description="Total entries matching the filter, ignoring limit/offset.")
