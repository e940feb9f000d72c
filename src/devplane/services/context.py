"""Who is calling and from where; passed from routes to services for audit and rate limits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str = ""
    user_agent: str = ""
    user_id: uuid.UUID | None = None
    username: str = ""
