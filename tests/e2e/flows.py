"""Keyboard helpers for browser tests."""

from __future__ import annotations

from typing import Any

MAX_TABS = 80


def tab_to(page: Any, selector: str) -> None:
    """Press Tab until `selector` has focus (bounded), as a keyboard user would."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")
