"""Copy the web UI's third-party assets from node_modules/ into src/devplane/web/static/vendor/.

Run after changing a pinned version in package.json (then `npm ci`); it rewrites
MANIFEST.json with each file's package, version and sha256, which tests/web/test_assets.py
checks. The server never needs Node: the copies are committed.

    python scripts/vendor_assets.py
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
VENDOR = ROOT / "src" / "devplane" / "web" / "static" / "vendor"

# (package, file inside the package, name in vendor/)
ASSETS = [
    ("htmx.org", "dist/htmx.min.js", "htmx.min.js"),
    ("htmx-ext-sse", "dist/sse.min.js", "htmx-ext-sse.min.js"),
    ("@picocss/pico", "css/pico.min.css", "pico.min.css"),
    ("swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui-bundle.js"),
    ("swagger-ui-dist", "swagger-ui.css", "swagger-ui.css"),
]


def main() -> None:
    VENDOR.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, str]] = {}
    for package, source, name in ASSETS:
        version = json.loads((NODE / package / "package.json").read_text())["version"]
        shutil.copyfile(NODE / package / source, VENDOR / name)
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        manifest[name] = {"package": package, "version": version, "source": source, "sha256": digest}
    (VENDOR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"vendored {len(manifest)} files into {VENDOR.relative_to(ROOT)}")  # noqa: T201 - a script's output


if __name__ == "__main__":
    main()
