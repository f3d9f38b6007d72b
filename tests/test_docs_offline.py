"""/api/v1/docs works offline: every file the page needs is served by the app itself (Swagger UI
from an installed package), the page names no outside host, and its CSP lets its script run."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser


class References(HTMLParser):
    """What a browser fetches or runs from the page: src/href attributes and inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.urls += [attributes[name] for name in ("src", "href") if attributes.get(name)]
        self._in_inline_script = tag == "script" and "src" not in attributes

    def handle_endtag(self, tag):
        self._in_inline_script = False

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.inline_scripts.append(data)


def read_page(client) -> tuple[str, References, str]:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    references = References()
    references.feed(html)
    return html, references, page.headers["Content-Security-Policy"]


def test_every_file_the_docs_page_references_is_served_by_the_app(client):
    html, references, _ = read_page(client)
    assert len(references.urls) >= 3  # the stylesheets, the icon and Swagger UI's script
    for url in references.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.get_data()) > 0, url
    bundle = next(url for url in references.urls if url.endswith("swagger-ui-bundle.js"))
    served = client.get(bundle)
    assert served.content_type.startswith(("text/javascript", "application/javascript"))
    assert b"SwaggerUIBundle" in served.get_data()
    stylesheet = next(url for url in references.urls if url.endswith("swagger-ui.css"))
    assert client.get(stylesheet).content_type.startswith("text/css")
    # The document the page loads is the app's own.
    assert re.search(r'url:\s*"/api/v1/openapi.json"', references.inline_scripts[0])
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_the_docs_page_names_no_outside_host(client):
    html, references, csp = read_page(client)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE), html
    assert "http" not in csp and "//" not in csp, csp
    # Swagger UI would post the document to an outside validator unless told not to.
    assert "validatorUrl: null" in references.inline_scripts[0]


def test_the_pages_policy_allows_its_own_script_and_nothing_outside(client):
    _, references, csp = read_page(client)
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    script_sources = directives["script-src"].split()
    assert "'self'" in script_sources and "'unsafe-inline'" not in script_sources
    # The inline start script runs because the policy names its hash.
    for script in references.inline_scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_sources
    assert directives["connect-src"] == "'self'"


def test_unknown_and_escaping_asset_names_are_not_found(client):
    for name in ("no-such-file.js", "../__init__.py", "..%2f..%2fLICENSE"):
        response = client.get(f"/api/v1/docs/assets/{name}")
        assert response.status_code == 404, name
        assert response.get_json()["errorCode"] == "NOT_FOUND"
