"""The official Socket.IO JavaScript client (socket.io-client from npm) against a real server:
connect with and without a token, chat round trip, history on join, rate limit, and a product
broadcast from another process."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest

from tests.support.auth import signed_in
from tests.support.commerce import live_stream
from tests.support.js import JS_DIR, node_with_client
from tests.support.sockets import broadcast_from_another_process


@pytest.fixture(scope="module")
def node_client():
    return node_with_client()


def test_the_javascript_client_connects_chats_and_receives_broadcasts(app, app_env, live_server, node_client):
    server = live_server(workers=2)
    stream_key = live_stream(app).key
    token = signed_in(app, name="Node").token
    process = subprocess.Popen(
        [node_client, str(JS_DIR / "smoke.mjs"), server.url, token, stream_key],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    steps = []
    deadline = time.monotonic() + 90
    try:
        for line in process.stdout:
            step = json.loads(line) if line.startswith("{") else {"step": "output", "line": line}
            steps.append(step)
            if step["step"] == "ready-for-product":
                # With its version, as the service sends it (product updates are ordered by it).
                product = {
                    "id": f"p-{uuid.uuid4().hex[:8]}",
                    "name": "Lamp",
                    "price": "10.00",
                    "available": 2,
                    "version": 2,
                }
                broadcast_from_another_process(app_env, f"product_updated({stream_key!r}, {product!r})")
            if time.monotonic() > deadline:
                break
        process.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    names = [step["step"] for step in steps]
    assert process.returncode == 0, steps
    assert names == [
        "refused-without-token",
        "joined",
        "round-trip",
        "history",
        "rate-limited",
        "ready-for-product",
        "product",
        "ok",
    ]
