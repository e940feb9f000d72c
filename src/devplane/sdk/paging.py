"""Bounds of the list endpoints' paging parameters, shared by the server and its clients.

Every integer the API accepts has an upper bound: an unbounded one reaches the database driver,
where SQLite raises OverflowError past 2**63 - 1 (a 500, not a 400). The bounds are far above
any real page or table size and small enough for every backend's BIGINT.
"""

from __future__ import annotations

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50
# A 32-bit signed maximum: no deployment pages past two billion rows, and it fits every driver.
MAX_OFFSET = 2**31 - 1
