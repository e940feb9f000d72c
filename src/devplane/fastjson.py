"""JSON for hot paths (the MCP gateway, the log renderer): orjson, with the stdlib's exact semantics.

orjson is several times faster than `json`, but differs at the edges, and the gateway forwards
other people's data, so every difference falls back to the stdlib instead of changing a value:
- integers beyond 64 bits: orjson *parses* them as floats (silently losing digits) and refuses to
  write them. Any run of 19+ digits in the input takes the stdlib parser (one C regex scan);
- NaN/Infinity and lone surrogates: orjson refuses to parse them, the stdlib accepts them (a
  NaN is then written back as null: it is not JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

_LONG_NUMBER = re.compile(rb"\d{19}")


def loads(raw: bytes | str) -> Any:
    """Parse JSON; ValueError (as json.loads) when it is not JSON."""
    data = raw.encode() if isinstance(raw, str) else raw
    if _LONG_NUMBER.search(data) is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # maybe valid for the stdlib (NaN, lone surrogates): let it decide
    return json.loads(data)


def dumps(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact JSON as UTF-8 bytes. `default` as in json.dumps (for types neither knows)."""
    try:
        return orjson.dumps(value, default=default)
    except TypeError:  # a big integer, a non-str key, a lone surrogate: the stdlib's answer
        return json.dumps(value, separators=(",", ":"), default=default).encode()
