"""The compose layout for real, with the shipped deploy/nginx.conf: nginx in front of two
single-worker instances. REST is spread over both, Socket.IO polling sessions stick to one
instance, request ids pass through, /metrics answers from inside."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.auth import signed_in
from tests.support.server import free_port
from tests.support.sockets import Viewer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
HOOK_SECRET = "hook-secret-that-must-not-be-logged"  # noqa: S105 - a test value


def nginx_binary() -> str | None:
    for candidate in ("/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"):
        if os.path.exists(candidate):
            return candidate
    return None


def local_config(directory: Path, port: int, upstream_ports: list[int]) -> str:
    """deploy/nginx.conf with loopback addresses for compose's service names, and a pid file,
    temp directories and (as root) a user that fit a test."""
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    for index, upstream_port in enumerate(upstream_ports, start=1):
        config = config.replace(f"api-{index}:3001", f"127.0.0.1:{upstream_port}")
    assert "api-" not in config
    config = config.replace("pid /tmp/nginx.pid;", f"pid {directory}/nginx.pid;\ndaemon off;")
    if os.geteuid() == 0:
        config = "user root;\n" + config
    config = config.replace("listen 80;", f"listen 127.0.0.1:{port};")
    assert "access_log /dev/stdout dorami;" in config
    config = config.replace("access_log /dev/stdout dorami;", f"access_log {directory}/access.log dorami;")
    temp = "".join(
        f"    {kind}_temp_path {directory}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return config.replace("http {\n", "http {\n" + temp, 1)


@pytest.fixture
def layout(live_server, tmp_path):
    nginx = nginx_binary()
    assert nginx is not None, "nginx is not installed (apt-get install nginx-light; scripts/ensure-tools.sh)"
    instances = [
        live_server(workers=1, PROXY_HOPS="1", LOG_LEVEL="INFO", MEDIA_HOOK_SECRET=HOOK_SECRET) for _ in range(2)
    ]
    port = free_port()
    (tmp_path / "nginx.conf").write_text(local_config(tmp_path, port, [i.port for i in instances]))
    process = subprocess.Popen(
        [nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, (tmp_path / "error.log").read_text()
            try:
                requests.get(f"{url}/api/v1/health/live", timeout=1, headers={"Connection": "close"})
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "nginx did not answer"
                time.sleep(0.1)
        yield url, instances, tmp_path / "access.log"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_rest_is_spread_and_request_ids_pass_through(layout):
    url, instances, _ = layout
    for number in range(20):
        response = requests.get(f"{url}/api/v1/health/live", headers={"X-Request-Id": f"via-nginx-{number}"}, timeout=5)
        assert response.status_code == 200
        assert response.headers["X-Request-Id"] == f"via-nginx-{number}"
    # Both instances served some of them (round robin), each logging the client's id.
    for instance in instances:
        assert re.search(r"\[via-nginx-\d+\] GET /api/v1/health/live 200", instance.log())
    # Without an id, nginx's own one reaches the app and comes back.
    generated = requests.get(f"{url}/api/v1/health/live", timeout=5).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert any(f"[{generated}]" in instance.log() for instance in instances)
    assert requests.get(f"{url}/metrics", timeout=5).status_code == 200  # from inside


def test_socketio_polling_sessions_stick_to_one_instance(app, layout):
    url, _, _ = layout
    token = signed_in(app).token
    viewers = [Viewer(url, token=token, transports=("polling",)) for _ in range(3)]
    try:
        for viewer in viewers:
            answer = viewer.call("chat:join-room", {"liveId": "no-such-stream"}, "/chat")
            assert answer["success"] is False  # answered by the instance holding the session
            assert viewer.client.connected
    finally:
        for viewer in viewers:
            viewer.close()


def test_nginx_logs_no_query_string_so_no_hook_secret(layout):
    url, _, access_log = layout
    # nginx-rtmp can only put the secret in the hook URL's query string.
    hook = requests.post(
        f"{url}/api/v1/streaming/hooks/publish?secret={HOOK_SECRET}",
        data={"name": "0" * 32, "call": "publish"},
        timeout=5,
    )
    assert hook.status_code == 403 and hook.json()["errorCode"] == "PUBLISH_REFUSED"  # secret accepted, key unknown
    requests.get(f"{url}/api/v1/products?token=query-token-value&page=1", timeout=5)
    deadline = time.monotonic() + 5
    while "/api/v1/products" not in access_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    logged = access_log.read_text()
    assert "POST /api/v1/streaming/hooks/publish HTTP/1.1" in logged and "GET /api/v1/products HTTP/1.1" in logged
    assert HOOK_SECRET not in logged and "query-token-value" not in logged and "?" not in logged


def test_clients_cannot_forge_forwarded_headers_through_nginx(layout):
    url, instances, _ = layout
    # The Socket.IO same-origin check sees the host the browser used, not one the client names.
    own = handshake_via(url, Origin=url)
    assert own.status_code == 200, own.text
    forged = handshake_via(url, Origin="http://evil.example", **{"X-Forwarded-Host": "evil.example"})
    assert forged.status_code == 400
    # The client address the app sees is the one nginx saw, whatever X-Forwarded-For claims.
    spoofed = requests.get(
        f"{url}/api/v1/health/live", headers={"X-Forwarded-For": "203.0.113.7", "X-Request-Id": "xff-check"}, timeout=5
    )
    assert spoofed.status_code == 200
    lines = [line for instance in instances for line in instance.log().splitlines() if "[xff-check]" in line]
    assert len(lines) == 1 and lines[0].endswith(" 127.0.0.1") and "203.0.113.7" not in lines[0]


def handshake_via(url: str, **headers) -> requests.Response:
    return requests.get(
        f"{url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Connection": "close", **headers},
        timeout=5,
    )
