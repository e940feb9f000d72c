"""Vendored assets: the manifest's sha256 values, the node_modules sources, hashed URLs and caching."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from devplane.web import assets

VENDOR = assets.STATIC_DIR / "vendor"
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"


def _manifest() -> dict[str, dict[str, str]]:
    manifest: dict[str, dict[str, str]] = json.loads((VENDOR / "MANIFEST.json").read_text())
    return manifest


def test_every_vendored_file_matches_its_manifest_digest() -> None:
    manifest = _manifest()
    on_disk = {p.name for p in VENDOR.iterdir() if p.name != "MANIFEST.json"}
    assert on_disk == set(manifest), "vendor/ and MANIFEST.json list different files"
    for name, entry in manifest.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == entry["sha256"], name


def test_vendored_versions_are_the_pinned_npm_packages() -> None:
    pins = json.loads((NODE_MODULES.parent / "package.json").read_text())
    wanted = {**pins.get("dependencies", {}), **pins.get("devDependencies", {})}
    for name, entry in _manifest().items():
        assert wanted.get(entry["package"], "").lstrip("^~=") == entry["version"], name
        source = NODE_MODULES / entry["package"] / entry["source"]
        if source.exists():  # node_modules is optional at run time; when present it must agree
            assert hashlib.sha256(source.read_bytes()).hexdigest() == entry["sha256"], name


def test_asset_urls_carry_the_content_hash() -> None:
    url = assets.url("vendor/htmx.min.js")
    assert url == f"/static/v/{assets.version()}/vendor/htmx.min.js"
    with pytest.raises(KeyError):
        assets.url("nope.js")


async def test_static_files_are_immutable_and_unknown_paths_404(app_transport: httpx.ASGITransport) -> None:
    async with httpx.AsyncClient(transport=app_transport, base_url="http://devplane.test") as http:
        ok = await http.get(assets.url("vendor/pico.min.css"))
        assert ok.status_code == 200
        assert ok.headers["cache-control"] == assets.IMMUTABLE
        assert ok.headers["content-type"].startswith("text/css")
        assert ok.content == (VENDOR / "pico.min.css").read_bytes()
        for path in (
            "/static/v/0000000000000000/vendor/pico.min.css",  # an old or forged hash
            f"/static/v/{assets.version()}/vendor/",  # never a listing
            f"/static/v/{assets.version()}/../templates/base.html",
            f"/static/v/{assets.version()}/vendor/nope.js",
        ):
            response = await http.get(path)
            assert response.status_code == 404, path
