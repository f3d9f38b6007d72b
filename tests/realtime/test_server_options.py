"""The server options of the deployment guide, read from a real server's handshake."""

from __future__ import annotations

import base64
import json
import os
import socket

import pytest
import requests

from dorami_api.config import Config, ConfigError


@pytest.fixture
def server(live_server):
    return live_server()


def handshake(url, **headers):
    return requests.get(
        f"{url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Connection": "close", **headers},
        timeout=5,
    )


def test_the_handshake_announces_the_configured_timings_and_size_cap(server):
    response = handshake(server.url)
    assert response.status_code == 200
    opened = json.loads(response.text[1:])  # Engine.IO "open" packet: 0{...}
    assert opened["pingInterval"] == 25000
    assert opened["pingTimeout"] == 60000
    assert opened["maxPayload"] == 64 * 1024
    assert opened["upgrades"] == ["websocket"]


def test_only_configured_origins_may_connect(server):
    allowed = handshake(server.url, Origin="https://shop.dorami.test")
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.dorami.test"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert handshake(server.url, Origin="https://evil.example").status_code == 400


def test_a_client_sent_x_forwarded_host_cannot_make_a_foreign_origin_pass(live_server):
    direct = live_server()  # PROXY_HOPS=0: no proxy is trusted, so no X-Forwarded-* is believed
    own = f"http://127.0.0.1:{direct.port}"
    assert handshake(direct.url, Origin=own).status_code == 200  # the server's own origin
    for forged in (
        {"X-Forwarded-Host": "evil.example"},
        {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
        {"X-Forwarded-Host": "evil.example, 127.0.0.1"},
    ):
        scheme = forged.get("X-Forwarded-Proto", "http")
        assert handshake(direct.url, Origin=f"{scheme}://evil.example", **forged).status_code == 400, forged
    # Behind one trusted proxy, its X-Forwarded-Host (the last one) is the host; what the client
    # put before it is not.
    proxied = live_server(PROXY_HOPS="1")
    assert (
        handshake(
            proxied.url,
            Origin="https://shop.example",
            **{"X-Forwarded-Host": "shop.example", "X-Forwarded-Proto": "https"},
        ).status_code
        == 200
    )
    spoofed = {"X-Forwarded-Host": "evil.example, shop.example", "X-Forwarded-Proto": "https"}
    assert handshake(proxied.url, Origin="https://evil.example", **spoofed).status_code == 400


def test_the_websocket_does_not_negotiate_permessage_deflate(server):
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
    status, *header_lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert status.startswith("HTTP/1.1 101")
    assert not any(line.lower().startswith("sec-websocket-extensions") for line in header_lines)


def test_presence_ttl_is_validated():
    base = {"APP_ENV": "test"}
    assert Config.from_env(base).socket_presence_ttl == 45
    with pytest.raises(ConfigError, match="SOCKET_PRESENCE_TTL"):
        Config.from_env({**base, "SOCKET_PRESENCE_TTL": "1"})
