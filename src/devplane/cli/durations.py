"""Human durations for flags: `30d`, `12h`, `90m`, `45s`, `2w`, or combined like `1d12h`."""

from __future__ import annotations

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"(?:\d+[smhdw])+")


def parse_duration(text: str) -> int:
    """Seconds in `text`; raises ValueError with a message fit for a flag error."""
    value = text.strip().lower()
    if not _WHOLE.fullmatch(value):
        raise ValueError(f"{text!r} is not a duration; use a number and a unit (s, m, h, d, w), e.g. 30d, 12h, 90m")
    seconds = sum(int(n) * UNITS[unit] for n, unit in _PART.findall(value))
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


def format_duration(seconds: int) -> str:
    """The inverse, largest units first: 90061 -> '1d1h1m1s'."""
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if unit == "w":  # '5w2d' reads worse than '37d'
            continue
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
