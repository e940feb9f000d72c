"""Tool names as offered to chats and gateway clients, and the governance filter.

Pure functions: the same ones decide what is listed and what may be called, so a filtered
tool can never be reached by guessing its name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from fnmatch import fnmatchcase

SEPARATOR = "__"
MAX_NAME = 64
_GLOB_CHARS = frozenset("*?[")


def _matches(tool: str, pattern: str) -> bool:
    if _GLOB_CHARS.isdisjoint(pattern):
        return tool == pattern
    return fnmatchcase(tool, pattern)


def tool_allowed(tool: str, allow: Sequence[str], deny: Sequence[str]) -> bool:
    """Offered iff (allow is empty or matches) and deny does not match: deny wins.

    Entries are exact names or shell-style globs (`list_*`), case-sensitive.
    """
    if allow and not any(_matches(tool, p) for p in allow):
        return False
    return not any(_matches(tool, p) for p in deny)


def may_expose(slug: str, exposed: str) -> bool:
    """Whether `exposed` can be one of this server's names (full or shortened): a cheap prefilter."""
    return exposed.startswith(f"{slug}{SEPARATOR}"[: MAX_NAME - 9])


def exposed_name(slug: str, tool: str) -> str:
    """`<slug>__<tool>`, shortened deterministically past 64 characters.

    The short form keeps a readable prefix and appends 8 hex chars of sha256 over the full
    name, so two long names that share a prefix stay distinct and stable across restarts.
    """
    full = f"{slug}{SEPARATOR}{tool}"
    if len(full) <= MAX_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: MAX_NAME - 9]}_{digest}"
