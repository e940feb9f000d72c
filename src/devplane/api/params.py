"""Query and path parameter types shared by the routes, with their bounds.

Routes take `Limit` and `Offset` instead of declaring `Query(ge=..)` each: one place documents
and enforces the bounds, so an out-of-range integer is a 400 naming the parameter on every list
endpoint (tests/api/test_openapi_bounds.py checks that no integer input is left unbounded).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from devplane.sdk.paging import MAX_LIMIT, MAX_OFFSET

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"Rows to skip, 0 to {MAX_OFFSET}.")]
