"""Static files under one content-hashed prefix: `/static/v/<hash>/<name>`, cached a year.

The hash covers every file, so any change to any asset gives every URL a new prefix; an old
prefix or an unknown name is a 404 (and nothing is ever listed)."""

from __future__ import annotations

import hashlib
import mimetypes
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse, Response

STATIC_DIR = Path(__file__).parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json"}


@cache
def files() -> dict[str, Path]:
    return {p.relative_to(STATIC_DIR).as_posix(): p for p in sorted(STATIC_DIR.rglob("*")) if p.is_file()}


@cache
def version() -> str:
    digest = hashlib.sha256()
    for name, path in files().items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def url(name: str) -> str:
    if name not in files():
        raise KeyError(f"unknown static asset {name!r}")
    return f"/static/v/{version()}/{name}"


router = APIRouter(include_in_schema=False)


@router.get("/static/v/{tag}/{name:path}")
async def static_file(tag: str, name: str) -> Response:
    path = files().get(name)
    if tag != version() or path is None:
        return PlainTextResponse("Not found.", status_code=404, headers={"Cache-Control": "no-store"})
    media = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, headers={"Cache-Control": IMMUTABLE})
