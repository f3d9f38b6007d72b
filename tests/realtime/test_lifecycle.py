"""Operations around sockets on a real server: the metrics count them, and a graceful shutdown
tells them `server:shutdown` before closing them so clients reconnect elsewhere."""

from __future__ import annotations

import re
import signal
import time

import requests

from tests.support.auth import signed_in
from tests.support.commerce import live_stream


def metric(text: str, name: str, **labels) -> float:
    selector = ",".join(f'{key}="{value}"' for key, value in labels.items())
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(selector)}\}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def scrape(server) -> str:
    return requests.get(f"{server.url}/metrics", headers={"Connection": "close"}, timeout=5).text


def test_connected_sockets_and_events_are_counted(app, live_server, connect):
    server = live_server(workers=2)
    stream_key = live_stream(app).key
    viewer = connect(server.url, token=signed_in(app).token, namespaces=["/chat", "/streaming"])
    viewer.call("chat:join-room", {"liveId": stream_key}, "/chat")
    viewer.call("chat:join-room", {"liveId": stream_key}, "/chat")
    text = scrape(server)
    assert metric(text, "dorami_socketio_connected_sockets", namespace="/chat") == 1
    assert metric(text, "dorami_socketio_connected_sockets", namespace="/streaming") == 1
    assert metric(text, "dorami_socketio_events_total", event="chat:join-room", namespace="/chat") == 2
    viewer.close()
    deadline = time.monotonic() + 5  # the server notices the close a moment later
    while (
        metric(scrape(server), "dorami_socketio_connected_sockets", namespace="/chat") and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert metric(scrape(server), "dorami_socketio_connected_sockets", namespace="/chat") == 0


def test_a_graceful_shutdown_tells_sockets_before_closing_them(live_server, connect, app):
    server = live_server()
    viewer = connect(server.url, token=signed_in(app).token)
    viewer.wait_for("connection:success", "/chat")
    server.signal(signal.SIGTERM)
    for namespace in ("/", "/streaming", "/chat"):
        assert viewer.wait_for("server:shutdown", namespace)["data"] == {"reconnect": True}
    viewer.wait_disconnected()
    assert server.process.wait(timeout=35) == 0
