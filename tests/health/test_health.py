"""Health probes: live never checks dependencies; ready answers 503 within 2 s when
PostgreSQL or Redis is down or hanging."""

from __future__ import annotations

import socket
import threading
import time

import pytest


def test_live_answers_ok_outside_the_envelope(client):
    response = client.get("/api/v1/health/live")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["timestamp"].endswith("Z")
    assert "success" not in body


def test_ready_reports_both_dependencies_up(client):
    response = client.get("/api/v1/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "info": {"database": {"status": "up"}, "redis": {"status": "up"}},
    }


@pytest.fixture
def hanging_port():
    """A TCP server that accepts connections and never answers: a hung dependency."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    accepted = []
    stop = threading.Event()

    def accept_forever():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.fixture
def closed_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def _timed_ready(client):
    started = time.monotonic()
    response = client.get("/api/v1/health/ready")
    return response, time.monotonic() - started


def test_ready_is_503_quickly_when_redis_is_down(make_app, closed_port):
    client = make_app(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0").test_client()
    response, elapsed = _timed_ready(client)
    assert response.status_code == 503
    assert response.get_json()["info"] == {"database": {"status": "up"}, "redis": {"status": "down"}}
    assert elapsed < 2


def test_ready_is_503_within_2s_when_redis_hangs(make_app, hanging_port):
    client = make_app(REDIS_URL=f"redis://127.0.0.1:{hanging_port}/0").test_client()
    response, elapsed = _timed_ready(client)
    assert response.status_code == 503
    assert response.get_json()["info"]["redis"] == {"status": "down"}
    assert elapsed < 2


def test_ready_is_503_within_2s_when_postgres_hangs(make_app, hanging_port):
    client = make_app(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{hanging_port}/x").test_client()
    response, elapsed = _timed_ready(client)
    assert response.status_code == 503
    assert response.get_json()["info"] == {"database": {"status": "down"}, "redis": {"status": "up"}}
    assert elapsed < 2


def test_ready_is_503_when_postgres_is_down(make_app, closed_port):
    client = make_app(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed_port}/x").test_client()
    response, _ = _timed_ready(client)
    assert response.status_code == 503
    assert response.get_json()["info"]["database"] == {"status": "down"}


def test_ready_on_a_real_server_turns_503_when_redis_stops_answering(hanging_port, live_server):
    """The gevent worker path: the probe interrupts the hung check instead of blocking."""
    server = live_server(REDIS_URL=f"redis://127.0.0.1:{hanging_port}/0")
    import requests

    started = time.monotonic()
    response = requests.get(f"{server.url}/api/v1/health/ready", timeout=10, headers={"Connection": "close"})
    assert response.status_code == 503
    assert response.json()["info"]["redis"] == {"status": "down"}
    assert time.monotonic() - started < 2
    # A dependency that hangs must not hold up the worker's own shutdown either.
    stop_started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - stop_started < 10, server.log()[-3000:]
