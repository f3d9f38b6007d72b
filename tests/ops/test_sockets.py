"""Socket.IO meets operations on a real server: /metrics counts sockets and events across
workers, and a graceful stop tells every socket `server:shutdown` and closes it first."""

from __future__ import annotations

import signal
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.auth import signed_in
from tests.support.sockets import Viewer

pytestmark = pytest.mark.slow


def socket_metrics(server) -> dict[tuple[str, tuple], float]:
    text = requests.get(f"{server.url}/metrics", headers={"Connection": "close"}, timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("dorami_socketio_")
    }


def connected(samples, namespace: str) -> float:
    return samples.get(("dorami_socketio_connected_sockets", (("namespace", namespace),)), 0.0)


def test_sockets_are_counted_across_workers_then_told_to_go_on_shutdown(app, live_server):
    server = live_server(workers=2, LOG_LEVEL="INFO")
    pids = server.wait_for_workers(2)
    token = signed_in(app).token
    viewers = []
    try:
        # The count adds up every worker's sockets, whichever worker holds each one.
        for _ in range(4):
            viewers.append(Viewer(server.url, token=token))
        deadline = time.monotonic() + 10
        while connected(samples := socket_metrics(server), "/chat") < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        for namespace in ("/", "/streaming", "/chat"):
            assert connected(samples, namespace) == 4, samples

        viewers[0].call("chat:join-room", {"liveId": "no-such-stream"}, "/chat")
        events = socket_metrics(server)
        assert events[("dorami_socketio_events_total", (("event", "chat:join-room"), ("namespace", "/chat")))] == 1

        stopping = time.monotonic()
        server.signal(signal.SIGTERM)
        for viewer in viewers:
            assert viewer.wait_for("server:shutdown", timeout=15)["data"] == {"reconnect": True}
            viewer.wait_disconnected(timeout=15)
        assert server.wait(timeout=35) == 0
        assert time.monotonic() - stopping < 15
    finally:
        for viewer in viewers:
            viewer.close()
    log = server.log()
    for pid in pids:
        told = [line for line in log.splitlines() if f"shutdown {pid}: 2/6 sockets told and closed" in line]
        assert len(told) == 1 and "(sockets" in told[0], log[-3000:]  # first: sockets; others may follow
