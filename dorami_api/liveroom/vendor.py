"""The live-room page's third-party browser code. It comes from npm (package.json and
package-lock.json beside this file), installed into node_modules/ here by scripts/page-assets.sh —
never committed — and served from there, so the page needs no CDN."""

from __future__ import annotations

from pathlib import Path

NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
INSTALL_COMMAND = "bash scripts/page-assets.sh"
# The only files served, by the name the page asks for: node_modules holds far more than that.
FILES = {
    "socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
    "socket.io.min.js.map": "socket.io-client/dist/socket.io.min.js.map",
}
REQUIRED = ("socket.io.min.js",)


def installed_file(name: str) -> Path | None:
    """The installed file served as `name`, or None (unknown name, or not installed)."""
    relative = FILES.get(name)
    if relative is None:
        return None
    path = NODE_MODULES / relative
    return path if path.is_file() else None


def missing() -> list[str]:
    """The files the page cannot work without that are not installed."""
    return [name for name in REQUIRED if installed_file(name) is None]
