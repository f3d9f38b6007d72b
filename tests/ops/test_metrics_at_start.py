"""Series whose labels are known in advance exist on /metrics from start-up, at 0, on a real
gunicorn with two workers: the connected sockets of the three namespaces, the database latency of
every operation, Redis up. A dashboard then shows 0, not "no data"."""

from __future__ import annotations

import time

import pytest

from tests.ops.test_gunicorn import scrape
from tests.support.auth import signed_in
from tests.support.sockets import NAMESPACES, Viewer

pytestmark = pytest.mark.slow
SOCKETS = "dorami_socketio_connected_sockets"


def series(samples, name: str, label: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for sample in samples:
        if sample.name == name:
            values[sample.labels[label]] = values.get(sample.labels[label], 0.0) + sample.value
    return values


def sockets_once(server, expected: dict[str, float], timeout: float = 10) -> dict[str, float]:
    """The sockets per namespace as soon as they read `expected` (a (dis)connection is counted by
    the server a moment after the client returns), or the last reading after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        reading = series(scrape(server), SOCKETS, "namespace")
        if reading == expected or time.monotonic() > deadline:
            return reading
        time.sleep(0.1)


def test_known_series_are_exported_at_zero_right_after_start(live_server):
    server = live_server(workers=2)
    server.wait_for_workers(2)
    samples = scrape(server)

    assert series(samples, SOCKETS, "namespace") == {"/": 0, "/streaming": 0, "/chat": 0}
    latency = series(samples, "dorami_db_query_duration_seconds_count", "operation")
    assert set(latency) >= {"select", "insert", "update", "delete", "other"}
    assert [s.value for s in samples if s.name == "dorami_redis_up"] == [1]


def test_socket_series_go_back_to_zero_rather_than_vanish(live_server, app):
    server = live_server()
    token = signed_in(app).token
    viewer = Viewer(server.url, namespaces=NAMESPACES, token=token)
    try:
        connected = {"/": 1, "/streaming": 1, "/chat": 1}
        assert sockets_once(server, connected) == connected
    finally:
        viewer.close()
    gone = {"/": 0, "/streaming": 0, "/chat": 0}
    assert sockets_once(server, gone) == gone
