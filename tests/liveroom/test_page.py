"""The live-room page as the service serves it: the document at / with its own Content-Security-
Policy, its same-origin assets, the npm-installed Socket.IO client (and what the page says when
that is missing), and no page at all in production."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dorami_api.liveroom import vendor

SCRIPT = Path(vendor.__file__).resolve().parent / "static" / "liveroom.js"


class _Assets(HTMLParser):
    """The URLs of every script and style sheet a document loads, and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in attributes
            if "src" in attributes:
                self.urls.append(attributes["src"])
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.urls.append(attributes["href"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _assets(html: str) -> _Assets:
    parser = _Assets()
    parser.feed(html)
    return parser


@pytest.fixture
def installed():
    """The Socket.IO client as scripts/page-assets.sh installs it (the test command runs it)."""
    if vendor.missing():
        pytest.fail(f"the live-room page's npm assets are not installed: run `{vendor.INSTALL_COMMAND}`")


@pytest.mark.parametrize("env", ["development", "test"])
def test_the_page_and_every_asset_it_loads_come_from_the_service(make_app, installed, env):
    client = make_app(APP_ENV=env).test_client()
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Sign in" in html and 'id="chat-messages"' in html
    assets = _assets(html)
    assert assets.inline_scripts == 0
    assert sorted(assets.urls) == [
        "/liveroom/static/liveroom.css",
        "/liveroom/static/liveroom.js",
        "/liveroom/vendor/socket.io.min.js",
    ]
    for url in assets.urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.mimetype in ("text/javascript", "application/javascript", "text/css"), url
        assert len(asset.data) > 100
    assert client.get("/liveroom/vendor/socket.io.min.js").get_data(as_text=True).count("Socket.IO") >= 1
    assert not re.search(r"https?://", html), "the page names no other host"


def test_the_page_has_its_own_policy_and_the_api_keeps_the_strict_one(app, installed):
    client = app.test_client()
    policy = client.get("/").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    api = client.get("/api/v1/health/live")
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_without_the_npm_assets_the_page_says_how_to_install_them(app, tmp_path, monkeypatch):
    monkeypatch.setattr(vendor, "NODE_MODULES", tmp_path / "node_modules")
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    assert 'id="assets-missing"' in html
    assert "bash scripts/page-assets.sh" in html
    assert "/liveroom/vendor/" not in html  # no script tag that could only fail
    missing = client.get("/liveroom/vendor/socket.io.min.js")
    assert missing.status_code == 404
    assert missing.get_json()["errorCode"] == "ASSET_NOT_INSTALLED"
    assert "bash scripts/page-assets.sh" in missing.get_json()["message"]


@pytest.mark.parametrize(
    "name", ["package.json", "socket.io-client%2Fpackage.json", "..%2Fpackage.json", "socket.io.js"]
)
def test_only_the_listed_client_files_are_served_from_node_modules(app, installed, name):
    response = app.test_client().get(f"/liveroom/vendor/{name}")
    assert response.status_code == 404
    assert response.get_json()["success"] is False


def test_production_serves_no_page(make_app):
    client = make_app(APP_ENV="production", PROFILE_ENCRYPTION_KEY="00" * 32).test_client()
    for path in ("/", "/liveroom/static/liveroom.js", "/liveroom/vendor/socket.io.min.js"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["success"] is False


def test_the_script_never_turns_text_into_html():
    source = SCRIPT.read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source, sink
    assert "textContent" in source
