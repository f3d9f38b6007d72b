"""The live-room page at `/` (development and test only): one HTML document, its own script and
style sheet, and the npm-installed Socket.IO client. Everything it shows comes from the public API,
called by the browser exactly as any web client would."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, send_file

from dorami_api.errors import NotFound
from dorami_api.liveroom import vendor

bp = Blueprint(
    "liveroom",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/liveroom/static",
)

# The API answers with `default-src 'none'`; this document needs its own scripts, styles and
# connections (fetch and the Socket.IO WebSocket, same origin) and nothing else: no inline script,
# no other host. Product pictures may live on any https host.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' https: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@bp.get("/")
def live_room():
    html = render_template(
        "liveroom/index.html", missing_assets=vendor.missing(), install_command=vendor.INSTALL_COMMAND
    )
    response = make_response(html)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


@bp.get("/liveroom/vendor/<name>")
def vendor_file(name: str):
    path = vendor.installed_file(name)
    if path is None:
        raise NotFound("ASSET_NOT_INSTALLED", f"{name} is not installed: run `{vendor.INSTALL_COMMAND}`")
    return send_file(path)
