"""Per request: an id (X-Request-Id honoured when sane, else generated, echoed back), one access
line, and the HTTP metrics. Socket.IO transport requests never reach Flask; the realtime layer
reports those through observability.metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from dorami_api.observability import metrics
from dorami_api.observability.logging import ACCESS_LOGGER

REQUEST_ID_HEADER = "X-Request-Id"
# Bounded length and a charset that cannot forge log lines or headers.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED_ROUTE = "<unmatched>"

access_log = logging.getLogger(ACCESS_LOGGER)


def request_id_from(header: str | None) -> str:
    if header and _SANE_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


def _begin_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))


def _finish_request(response: Response) -> Response:
    served = request._get_current_object()  # one context lookup, not one per field below
    request_id = g.get("request_id") or request_id_from(served.headers.get(REQUEST_ID_HEADER))
    response.headers[REQUEST_ID_HEADER] = request_id
    seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
    method, path, status, remote_addr = served.method, served.path, response.status_code, served.remote_addr
    route = served.url_rule.rule if served.url_rule is not None else UNMATCHED_ROUTE
    metrics.observe_http_request(method, route, status, seconds)
    duration_ms = round(seconds * 1000, 1)
    # The path only: query strings may carry tokens.
    access_log.info(
        "%s %s %s %.1fms %s",
        method,
        path,
        status,
        duration_ms,
        remote_addr,
        extra={
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "remote_addr": remote_addr,
        },
    )
    return response


def init_app(app: Flask) -> None:
    # First of all before_request hooks, so that even a request another hook rejects has its id.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_request)
    # after_request hooks run in reverse order: registered first, this one runs last and sees
    # the final status.
    app.after_request_funcs.setdefault(None, []).insert(0, _finish_request)
