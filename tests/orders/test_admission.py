"""Order admission (ORDER_CONCURRENCY slots per worker) is given only to a signed-in buyer whose
request has fully arrived: a client that sends its body slowly, or no valid token, holds no slot."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import requests

from tests.support.auth import signed_in
from tests.support.commerce import make_product


def _slow_order(url: str, headers: dict) -> socket.socket:
    """An order request whose headers arrive and whose body never finishes."""
    target = urlsplit(url)
    connection = socket.create_connection((target.hostname, target.port), timeout=10)
    lines = [
        "POST /api/v1/orders/direct HTTP/1.1",
        f"Host: {target.netloc}",
        "Content-Type: application/json",
        "Content-Length: 4096",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    connection.sendall(("\r\n".join(lines) + "\r\n\r\n" + '{"items": [').encode())
    return connection


def test_slow_bodies_hold_no_order_slot(app, live_server):
    product_id = make_product(app, stock=5)
    server = live_server(workers=1, ORDER_CONCURRENCY="1", RATELIMIT_ENABLED="false")
    _, slow_headers = signed_in(app, profile=True)
    _, buyer_headers = signed_in(app, profile=True)
    stalled = [_slow_order(server.url, slow_headers), _slow_order(server.url, {})]
    try:
        # The server has read the stalled requests' headers by the time it answers this one.
        assert requests.get(f"{server.url}/api/v1/health/live", timeout=10).status_code == 200
        placed = requests.post(
            f"{server.url}/api/v1/orders/direct",
            json={"items": [{"productId": str(product_id), "quantity": 1}]},
            headers=buyer_headers,
            timeout=60,
        )
        assert placed.status_code == 201, placed.text
        # The anonymous one was turned away at once, without waiting for its body.
        anonymous = stalled[1].recv(4096).decode()
        assert anonymous.startswith("HTTP/1.1 401"), anonymous
    finally:
        for connection in stalled:
            connection.close()
