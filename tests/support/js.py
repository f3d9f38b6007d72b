"""The official Socket.IO JavaScript client for tests: node, and tests/js/node_modules installed
from its lock file on first use."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.server import ROOT

JS_DIR = ROOT / "tests" / "js"


def node_with_client() -> str:
    """The node executable, with socket.io-client installed in tests/js (npm ci once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail("node and npm are required (scripts/ensure-tools.sh installs them)")
    if not (JS_DIR / "node_modules" / "socket.io-client").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, timeout=300, capture_output=True)
    return node
