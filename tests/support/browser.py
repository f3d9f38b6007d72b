"""A real browser for tests: Debian's Chromium (/usr/bin/chromium, installed by
scripts/ensure-tools.sh), headless, driven by Playwright — never a browser Playwright downloads."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Quiet and self-contained: no GPU, no QUIC, no first-run pages, no calls home of any kind.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """One headless Chromium; each launch gets a fresh temporary profile (user data dir)."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: scripts/ensure-tools.sh installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
