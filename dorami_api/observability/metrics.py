"""The service's metrics, correct across gunicorn workers.

Under gunicorn, gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a directory before any worker
imports prometheus_client, so every worker writes its samples there and /metrics (served by any
worker) aggregates all of them. Without that variable (python -m dorami_api, tests) the
process's own registry is used.

Socket.IO traffic never passes through Flask's hooks: the realtime layer calls socket_connected,
socket_disconnected and socket_event. Every recording function here is safe to call at any time
and never raises into its caller.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "dorami_http_requests_total", "HTTP requests by method, route (URL rule) and status", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "dorami_http_request_duration_seconds", "HTTP request latency by method and route", ["method", "route"]
)
WORKER_REQUESTS = Gauge(
    "dorami_worker_http_requests",
    "HTTP requests served by each live worker since it started",
    multiprocess_mode="liveall",
)
SOCKETS = Gauge(
    "dorami_socketio_connected_sockets",
    "Connected Socket.IO clients per namespace",
    ["namespace"],
    multiprocess_mode="livesum",
)
SOCKET_EVENTS = Counter("dorami_socketio_events_total", "Socket.IO events received by name", ["namespace", "event"])
REDIS_UP = Gauge("dorami_redis_up", "1 when Redis answered the last check, else 0", multiprocess_mode="livemostrecent")
DB_QUERY_LATENCY = Histogram(
    "dorami_db_query_duration_seconds",
    "Database statement latency by operation",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PROCESS_MEMORY = Gauge(
    "dorami_process_resident_memory_bytes", "Resident memory of each live server process", multiprocess_mode="liveall"
)

# Clients choose event names: cap the label values so nobody can blow up the series count.
_LABEL = re.compile(r"^[A-Za-z0-9:/_.-]{1,64}$")
MAX_SOCKET_LABELS = 200
# Process-wide on purpose, like the metrics above: the cap is on the series of prometheus_client's
# one registry of the process, which every app of the process writes to. Per-app sets would let
# each app add its own MAX_SOCKET_LABELS series to that same registry.
_seen_socket_labels: set[tuple[str, str]] = set()
_OPERATIONS = ("select", "insert", "update", "delete")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _never_raise(record: Callable) -> Callable:
    def guarded(*args, **kwargs) -> None:
        try:
            record(*args, **kwargs)
        except Exception:  # a metric must never break a request or a socket handler
            log.debug("metric %s not recorded", record.__name__, exc_info=True)

    guarded.__name__ = record.__name__
    guarded.__doc__ = record.__doc__
    return guarded


# The labelled children of the HTTP metrics by (method, route, status), looked up once each:
# `labels()` validates, stringifies and locks on every call. Process-wide like the metrics they
# belong to; bounded, past which labels() is simply called each time.
_http_children: dict[tuple[str, str, int], tuple] = {}
MAX_HTTP_CHILDREN = 2_000


@_never_raise
def observe_http_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    children = _http_children.get(key)
    if children is None:
        children = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_LATENCY.labels(method, route))
        if len(_http_children) < MAX_HTTP_CHILDREN:
            _http_children[key] = children
    requests, latency = children
    requests.inc()
    latency.observe(seconds)
    WORKER_REQUESTS.inc()


def _socket_labels(namespace: str, event: str = "") -> tuple[str, str]:
    namespace = namespace if _LABEL.match(namespace or "") else "other"
    if event:
        event = event if _LABEL.match(event) else "other"
    labels = (namespace, event)
    if labels not in _seen_socket_labels:
        if len(_seen_socket_labels) >= MAX_SOCKET_LABELS:
            return (namespace, "other") if event else ("other", "")
        _seen_socket_labels.add(labels)
    return labels


@_never_raise
def export_sockets_at_zero(namespaces: tuple[str, ...]) -> None:
    """Export each namespace's connected-sockets series at 0 before anyone connects, so a
    dashboard reads 0 rather than "no data" (creating a labelled child writes its 0 sample, into
    this worker's multiprocess file under gunicorn)."""
    for namespace in namespaces:
        SOCKETS.labels(_socket_labels(namespace)[0])


@_never_raise
def socket_connected(namespace: str) -> None:
    """A Socket.IO client joined `namespace` (e.g. "/chat") in this process."""
    SOCKETS.labels(_socket_labels(namespace)[0]).inc()


@_never_raise
def socket_disconnected(namespace: str) -> None:
    """A Socket.IO client left `namespace` in this process."""
    SOCKETS.labels(_socket_labels(namespace)[0]).dec()


@_never_raise
def socket_event(namespace: str, event: str) -> None:
    """A Socket.IO event named `event` arrived on `namespace`."""
    SOCKET_EVENTS.labels(*_socket_labels(namespace, event)).inc()


@_never_raise
def record_memory(rss_bytes: int) -> None:
    PROCESS_MEMORY.set(rss_bytes)


@_never_raise
def record_redis_up(up: bool) -> None:
    REDIS_UP.set(1 if up else 0)


@_never_raise
def observe_db_query(statement: str, seconds: float) -> None:
    verb = statement.lstrip().split(None, 1)[0].lower() if statement.strip() else ""
    DB_QUERY_LATENCY.labels(verb if verb in _OPERATIONS else "other").observe(seconds)


def _before_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    conn.info.setdefault("dorami_query_started", []).append(time.perf_counter())


def _after_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    started = conn.info.get("dorami_query_started")
    if started:
        observe_db_query(statement, time.perf_counter() - started.pop())


def _on_error(context) -> None:
    started = context.connection.info.get("dorami_query_started") if context.connection is not None else None
    if started:
        started.pop()


def watch_database() -> None:
    """Time every statement of every engine (idempotent). Every operation's latency series is
    exported from start-up, empty, so the database panels show 0 rather than "no data"."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    for operation in (*_OPERATIONS, "other"):
        DB_QUERY_LATENCY.labels(operation)

    for name, listener in (
        ("before_cursor_execute", _before_cursor_execute),
        ("after_cursor_execute", _after_cursor_execute),
        ("handle_error", _on_error),
    ):
        if not event.contains(Engine, name, listener):
            event.listen(Engine, name, listener)


def render() -> tuple[bytes, str]:
    """The exposition of every worker (multiprocess) or of this process."""
    directory = multiprocess_dir()
    if directory:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
