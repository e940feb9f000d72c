"""server-everything's tools that need no client capability, with arguments, and result comparison.

Names and argument schemas are the ones in node_modules/@modelcontextprotocol/server-everything/
dist/tools/ (2026.8.31). Tools that need sampling, elicitation or roots are only registered for
clients that declare those capabilities, which devplane does not.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

TEXT_FILE = b"devplane interop: gzip me\n" * 4
CASES: list[tuple[str, dict[str, Any]]] = [
    ("echo", {"message": "hi from devplane"}),
    ("get-sum", {"a": 2, "b": 40.5}),
    ("get-tiny-image", {}),
    ("get-structured-content", {"location": "Chicago"}),
    ("get-annotated-message", {"messageType": "error", "includeImage": False}),
    ("get-annotated-message", {"messageType": "success", "includeImage": True}),
    ("get-resource-links", {"count": 3}),
    ("get-resource-reference", {"resourceType": "Text", "resourceId": 2}),
    ("get-resource-reference", {"resourceType": "Blob", "resourceId": 3}),
    # A data: URI: nothing is fetched from the network (the tool would fetch an http URL itself).
    (
        "gzip-file-as-resource",
        {
            "name": "interop.txt.gz",
            "data": "data:text/plain;base64," + base64.b64encode(TEXT_FILE).decode(),
            "outputType": "resource",
        },
    ),
    (
        "gzip-file-as-resource",
        {"name": "link.txt.gz", "data": "data:text/plain;base64,aGk=", "outputType": "resourceLink"},
    ),
    ("get-sum", {"a": "not a number", "b": 1}),  # the server's own validation error (isError)
]
PROGRESS_STEPS = 3
Case = tuple[str, dict[str, Any]]
LONG_RUNNING: Case = ("trigger-long-running-operation", {"duration": 0.6, "steps": PROGRESS_STEPS})
TOGGLE_LOGGING: Case = ("toggle-simulated-logging", {})

# Resources made on the fly carry the time they were made, and the logging toggle names the
# MCP session: both differ between two clients by design, not by devplane.
_TIME = re.compile(r"created at [0-9:APM .\u202f]+")
_SESSION = re.compile(r"session [0-9a-f-]{8,}")


def normalise(value: Any) -> Any:
    """The result with per-moment and per-session details blanked, blobs decoded when they are text."""
    if isinstance(value, dict):
        out = {k: normalise(v) for k, v in value.items()}
        blob = value.get("blob")
        if isinstance(blob, str):
            try:
                decoded = base64.b64decode(blob, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = None
            if decoded is not None and "created at" in decoded:
                out["blob"] = normalise(decoded)
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return _SESSION.sub("session <id>", _TIME.sub("created at <time>", value))
    return value
