"""The production process layout for real: gunicorn with the production worker, several workers,
/metrics across them, reload on HUP, crash and memory-guard replacement, and the graceful
shutdown sequence under load."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.auth import signed_in
from tests.support.commerce import make_product

pytestmark = pytest.mark.slow
CLOSE = {"Connection": "close"}
SHUTDOWN_STEPS = (
    "1/6 stopped accepting connections",
    "2/6 sockets told and closed",
    "3/6 in-flight requests finished",
    "4/6 Redis closed",
    "5/6 HTTP server closed",
    "6/6 database closed",
)


def scrape(server) -> list:
    response = requests.get(f"{server.url}/metrics", headers=CLOSE, timeout=10)
    assert response.status_code == 200
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


def per_worker(samples, name: str) -> dict[int, float]:
    return {int(s.labels["pid"]): s.value for s in samples if s.name == name}


def total(samples, name: str = "dorami_http_requests_total", **labels) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def wait_until_reporting(server, pids: set[int], timeout: float = 30) -> dict[int, float]:
    """Until exactly these workers have loaded the app and report their memory."""
    deadline = time.monotonic() + timeout
    while True:
        memory = per_worker(scrape(server), "dorami_process_resident_memory_bytes")
        if set(memory) == pids or time.monotonic() > deadline:
            return memory
        time.sleep(0.2)


def wait_for_lock_waiters(connection, count: int, timeout: float = 15) -> None:
    """Until `count` sessions of this test's database wait for a lock."""
    probe = psycopg2.connect(connection.dsn)
    probe.autocommit = True
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with probe.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0] >= count:
                    return
            time.sleep(0.02)
    finally:
        probe.close()
    raise AssertionError(f"fewer than {count} requests waiting on the lock")


def get_live(server, **headers) -> requests.Response:
    return requests.get(f"{server.url}/api/v1/health/live", headers={**CLOSE, **headers}, timeout=10)


def shutdown_lines(log: str, pid: int) -> list[str]:
    return [line for line in log.splitlines() if f"shutdown {pid}:" in line]


def assert_shut_down_in_order(log: str, pid: int) -> None:
    lines = shutdown_lines(log, pid)
    assert len(lines) == len(SHUTDOWN_STEPS), log[-3000:]
    for line, step in zip(lines, SHUTDOWN_STEPS, strict=True):
        assert step in line, log[-3000:]


def test_metrics_add_up_the_requests_of_both_workers(live_server):
    server = live_server(workers=2)
    pids = server.wait_for_workers(2)
    assert set(wait_until_reporting(server, pids)) == pids
    live_route = {"route": "/api/v1/health/live", "status": "200"}
    before = total(scrape(server), "dorami_http_requests_total", **live_route)
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(25):  # bounded: both workers serve long before this
            statuses = list(pool.map(lambda _: get_live(server).status_code, range(40)))
            assert statuses == [200] * 40
            sent += 40
            served = per_worker(scrape(server), "dorami_worker_http_requests")
            if set(served) == pids and all(count > 0 for count in served.values()):
                break
    samples = scrape(server)
    served = per_worker(samples, "dorami_worker_http_requests")
    assert set(served) == pids, served
    assert all(count > 0 for count in served.values()), served
    # The counter is the sum over both workers' files: every request counted once.
    assert total(samples, "dorami_http_requests_total", **live_route) - before == sent
    assert set(per_worker(samples, "dorami_process_resident_memory_bytes")) == pids
    assert all(rss > 10 * 1024 * 1024 for rss in per_worker(samples, "dorami_process_resident_memory_bytes").values())
    assert total(samples, "dorami_redis_up") == 1


def _open_connections(server, count: int) -> list[socket.socket]:
    """`count` connections opened at the same moment, each answered once and then left open. They
    ask with HEAD, which the readiness probes and scrapes never use, so that the metrics can tell
    them apart from any other request."""
    start = threading.Barrier(count)
    host, port = server.url.removeprefix("http://").split(":")

    def one(_) -> socket.socket:
        start.wait()
        connection = socket.create_connection((host, int(port)), timeout=10)
        connection.sendall(f"HEAD /api/v1/health/live HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert connection.recv(4096).startswith(b"HTTP/1.1 200"), "no answer"
        return connection

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_connections_opened_together_are_shared_by_both_workers(live_server):
    """Each worker listens on its own socket and the kernel spreads new connections over them: a
    burst of clients (viewers joining, buyers pressing "buy") does not pile onto one worker."""
    server = live_server(workers=2)
    pids = server.wait_for_workers(2)
    assert set(wait_until_reporting(server, pids)) == pids
    burst = {"method": "HEAD", "route": "/api/v1/health/live", "status": "200"}
    samples = scrape(server)
    before, burst_before = per_worker(samples, "dorami_worker_http_requests"), total(samples, **burst)
    connections = _open_connections(server, 60)
    try:
        samples = scrape(server)
    finally:
        for connection in connections:
            connection.close()
    assert total(samples, **burst) - burst_before == 60  # each connection served once
    # A worker's count also holds the scrapes and any late probe: a few requests, not a share.
    served = per_worker(samples, "dorami_worker_http_requests")
    shares = {pid: served[pid] - before.get(pid, 0) for pid in pids}
    assert all(share >= 12 for share in shares.values()), shares


def test_after_ttou_the_remaining_worker_answers_every_connection(live_server):
    """A worker removed with TTOU leaves its listening socket to the master (no waiting connection
    is reset): the kernel still hands that socket new connections, and the other worker serves
    them too."""
    server = live_server(workers=2)
    pids = server.wait_for_workers(2)
    server.signal(signal.SIGTTOU)
    remaining = server.wait_for_workers(1)
    assert remaining < pids
    for connection in _open_connections(server, 40):  # each was answered
        connection.close()


def test_hup_reloads_workers_without_refusing_a_request(live_server):
    server = live_server(workers=2)
    old = server.wait_for_workers(2)
    outcomes: list[object] = []
    reloaded = threading.Event()

    def keep_asking() -> None:
        deadline = time.monotonic() + 40
        extra = 0
        while time.monotonic() < deadline and extra < 20:
            try:
                outcomes.append(get_live(server).status_code)
            except requests.RequestException as error:
                outcomes.append(error)
            if reloaded.is_set():
                extra += 1

    clients = [threading.Thread(target=keep_asking) for _ in range(3)]
    for client in clients:
        client.start()
    time.sleep(0.3)
    server.signal(signal.SIGHUP)
    try:
        new = server.wait_for_workers(2, exclude=old, timeout=30)
    finally:
        reloaded.set()
        for client in clients:
            client.join(timeout=45)
    assert not new & old
    failures = [outcome for outcome in outcomes if outcome != 200]
    assert not failures, failures[:5]
    assert len(outcomes) > 60
    log = server.log()
    for pid in old:
        assert_shut_down_in_order(log, pid)


def test_a_killed_worker_is_replaced(live_server):
    server = live_server(workers=2)
    pids = server.wait_for_workers(2)
    assert set(wait_until_reporting(server, pids)) == pids
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    now = server.wait_for_workers(2, exclude={victim})
    assert len(now & pids) == 1
    assert get_live(server).status_code == 200
    # The dead worker's live gauges are gone (gunicorn's child_exit hook); the new one reports.
    assert set(wait_until_reporting(server, now)) == now


def test_the_memory_guard_replaces_a_worker_gracefully(live_server):
    server = live_server(workers=1, MAX_WORKER_MEMORY_MB="1", MEMORY_CHECK_SECONDS="1")
    first = server.wait_for_workers(1)
    (pid,) = first
    log = server.wait_for_log(f"memory guard: worker {pid} uses", timeout=20)
    assert "above MAX_WORKER_MEMORY_MB=1; replacing it gracefully" in log
    server.wait_for_log(f"shutdown {pid}: 6/6 database closed", timeout=20)
    assert_shut_down_in_order(server.log(), pid)
    # The master starts a fresh worker in its place.
    replacement = server.wait_for_workers(1, exclude=first, timeout=30)
    assert replacement and not replacement & first


def test_sigterm_under_load_completes_in_flight_orders_and_exits_promptly(app, live_server, database_url):
    # Idle keep-alive connections may stay open a minute, so that only a prompt close at shutdown
    # lets the workers exit quickly.
    server = live_server(workers=2, LOG_LEVEL="INFO", KEEPALIVE_SECONDS="60", RATELIMIT_ENABLED="false")
    pids = server.wait_for_workers(2)
    product_id = make_product(app, stock=100)
    buyers = [signed_in(app, profile=True, name=f"Buyer {i}", depositor_name=f"BUYER {i}").headers for i in range(40)]
    # An idle keep-alive client: it used to hold its worker for the whole 30 s graceful timeout.
    idle = requests.Session()
    assert idle.get(f"{server.url}/api/v1/health/live", timeout=5).status_code == 200

    outcomes: dict[int, object] = {}

    def order(index: int) -> None:
        try:
            response = requests.post(
                f"{server.url}/api/v1/orders/direct",
                json={"items": [{"productId": str(product_id), "quantity": 1}]},
                headers={**buyers[index], **CLOSE, "Idempotency-Key": f"sigterm-{index}"},
                timeout=30,
            )
            outcomes[index] = response.json()["data"]["id"] if response.status_code == 201 else response.status_code
        except requests.RequestException as error:
            outcomes[index] = error

    # Orders in flight at SIGTERM: they queue for the product's row lock, held here.
    blocker = psycopg2.connect(database_url)
    blocker.cursor().execute("SELECT id FROM products WHERE id = %s FOR UPDATE", (str(product_id),))
    pool = ThreadPoolExecutor(max_workers=40)
    try:
        in_flight = [pool.submit(order, index) for index in range(12)]
        wait_for_lock_waiters(blocker, 1)
        time.sleep(0.2)
        assert not any(f.done() for f in in_flight), outcomes
        stopping = time.monotonic()
        server.signal(signal.SIGTERM)
        # More orders keep coming while the server stops: served in full or refused, nothing between.
        late = []
        for index in range(12, 40):
            late.append(pool.submit(order, index))
            time.sleep(0.02)
    finally:
        blocker.rollback()
        blocker.close()
    exit_code = server.wait(timeout=35)
    took = time.monotonic() - stopping
    for future in in_flight + late:
        future.result(timeout=35)
    pool.shutdown()
    idle.close()

    print(f"stopped in {took:.1f}s; outcomes {outcomes}")
    print("\n".join(line for line in server.log().splitlines() if "dorami_api.access" not in line)[-6000:])
    assert exit_code == 0
    assert took < 15, f"shutdown took {took:.1f}s"
    # Every order in flight at SIGTERM was completed.
    assert all(isinstance(outcomes[index], str) for index in range(12)), outcomes
    # Every other one was completed, refused before it started, or (on a saturated machine) turned
    # away whole with 503 SERVICE_BUSY.
    assert all(isinstance(o, (str, requests.ConnectionError)) or o == 503 for o in outcomes.values()), outcomes
    # The database holds exactly the orders the clients were told about, each one whole.
    answered = {o for o in outcomes.values() if isinstance(o, str)}
    with psycopg2.connect(database_url) as check, check.cursor() as cursor:
        cursor.execute(
            "SELECT o.id, count(i.id), coalesce(sum(i.quantity), 0) FROM orders o"
            " LEFT JOIN order_items i ON i.order_id = o.id GROUP BY o.id"
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT stock FROM products WHERE id = %s", (str(product_id),))
        (stock_left,) = cursor.fetchone()
    check.close()
    assert {order_id for order_id, _, _ in rows} == answered
    assert all((lines, quantity) == (1, 1) for _, lines, quantity in rows)
    assert stock_left == 100 - len(answered)
    log = server.log()
    for pid in pids:
        assert_shut_down_in_order(log, pid)


def test_sigint_is_a_graceful_stop_too(live_server):
    server = live_server(workers=1)
    (pid,) = server.wait_for_workers(1)
    started = time.monotonic()
    server.signal(signal.SIGINT)
    assert server.wait(timeout=35) == 0
    assert time.monotonic() - started < 10
    assert_shut_down_in_order(server.log(), pid)


def test_json_lines_with_request_ids_and_no_secrets_from_a_real_server(live_server):
    secret = "query-token-that-must-not-leak"
    server = live_server(workers=1, LOG_FORMAT="json", LOG_LEVEL="INFO")
    response = requests.get(
        f"{server.url}/api/v1/health/live?token={secret}",
        headers={**CLOSE, "X-Request-Id": "json-real-1", "Authorization": f"Bearer {secret}"},
        timeout=5,
    )
    assert response.headers["X-Request-Id"] == "json-real-1"
    assert server.stop() == 0
    log = server.log()
    assert secret not in log
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    access = [e for e in entries if e.get("request_id") == "json-real-1"]
    assert len(access) == 1
    assert access[0]["path"] == "/api/v1/health/live"
    assert access[0]["status"] == 200
    assert any("Booting worker" in e["message"] for e in entries), "gunicorn's own lines are JSON too"


def _read_one_response(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    while len(body) < length:
        body += connection.recv(4096)
    return head


def test_an_idle_keep_alive_connection_is_closed_after_keepalive_seconds(live_server):
    server = live_server(workers=1, KEEPALIVE_SECONDS="1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        for _ in range(2):  # the connection is reused while it is not idle too long
            connection.sendall(b"GET /api/v1/health/live HTTP/1.1\r\nHost: test\r\n\r\n")
            assert b" 200 " in _read_one_response(connection)
        idle_since = time.monotonic()
        assert connection.recv(1) == b""  # closed by the server
        assert time.monotonic() - idle_since < 5


def test_log_lines_go_to_files_when_configured(live_server, tmp_path):
    access, errors = tmp_path / "access.log", tmp_path / "errors.log"
    server = live_server(workers=1, LOG_LEVEL="INFO", ACCESS_LOG_FILE=str(access), ERROR_LOG_FILE=str(errors))
    (pid,) = server.wait_for_workers(1)
    assert get_live(server, **{"X-Request-Id": "to-the-file"}).status_code == 200
    assert server.stop() == 0
    assert "[to-the-file] GET /api/v1/health/live 200" in access.read_text()
    assert f"Booting worker with pid: {pid}" in errors.read_text()
    assert_shut_down_in_order(errors.read_text(), pid)
    assert "to-the-file" not in server.log()
