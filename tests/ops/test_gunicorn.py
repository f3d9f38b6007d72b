"""The production process layout for real: gunicorn with the production worker, several workers,
/metrics across them, reload on HUP, crash and memory-guard replacement, and the graceful
shutdown sequence under load (SPEC §8)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

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


def total(samples, name: str, **labels) -> float:
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
    """Until `count` other sessions wait for a lock this connection holds."""
    probe = psycopg2.connect(connection.dsn)
    probe.autocommit = True
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with probe.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'alembic_version'::regclass"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
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


def test_sigterm_under_load_finishes_in_flight_requests_and_exits_promptly(live_server, database_url):
    # Idle keep-alive connections may stay open a minute, so that only a prompt close at shutdown
    # lets the workers exit quickly.
    server = live_server(workers=2, LOG_LEVEL="INFO", KEEPALIVE_SECONDS="60")
    pids = server.wait_for_workers(2)
    # An idle keep-alive client: it used to hold its worker for the whole 30 s graceful timeout.
    idle = requests.Session()
    assert idle.get(f"{server.url}/api/v1/health/live", timeout=5).status_code == 200

    outcomes: dict[str, object] = {}
    stop_load = threading.Event()

    def load() -> None:
        deadline = time.monotonic() + 30
        while not stop_load.is_set() and time.monotonic() < deadline:
            request_id = uuid.uuid4().hex
            try:
                response = get_live(server, **{"X-Request-Id": request_id})
                outcomes[request_id] = response.status_code if response.json()["status"] == "ok" else "bad body"
            except requests.RequestException as error:
                outcomes[request_id] = error
                time.sleep(0.05)

    # Requests that are in flight at SIGTERM: readiness waits on a lock this test holds.
    blocker = psycopg2.connect(database_url)
    blocker.cursor().execute("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
    pool = ThreadPoolExecutor(max_workers=10)
    loaders = [pool.submit(load) for _ in range(3)]
    try:
        in_flight = [
            pool.submit(requests.get, f"{server.url}/api/v1/health/ready", headers=CLOSE, timeout=20) for _ in range(6)
        ]
        wait_for_lock_waiters(blocker, 6)
        assert not any(f.done() for f in in_flight)
        stopping = time.monotonic()
        server.signal(signal.SIGTERM)
        time.sleep(0.2)
    finally:
        blocker.rollback()
        blocker.close()
    exit_code = server.wait(timeout=35)
    took = time.monotonic() - stopping
    stop_load.set()
    for loader in loaders:
        loader.result(timeout=35)
    pool.shutdown()
    idle.close()

    print(f"stopped in {took:.1f}s")
    assert exit_code == 0
    assert took < 15, f"shutdown took {took:.1f}s"
    # In flight at SIGTERM (waiting inside PostgreSQL): every one answered in full, none cut. The
    # lock goes away well within readiness's 0.9 s budget, so they answer 200 unless the machine
    # is so loaded that the budget ran out first (a complete 503 then).
    answers = [f.result() for f in in_flight]
    assert all(answer.json()["status"] in ("ok", "error") for answer in answers)
    assert {answer.status_code for answer in answers} <= {200, 503}
    # Under load: every request the app started was answered in full; the others were refused
    # (never started). Request ids match the app's access lines to the client's answers.
    log = server.log()
    started = set(re.findall(r"\[([0-9a-f]{32})\] GET /api/v1/health/live", log))
    answered = {request_id for request_id, outcome in outcomes.items() if outcome == 200}
    assert answered, "the load should have been served before the stop"
    assert started & set(outcomes) == answered, {k: v for k, v in outcomes.items() if k in started ^ answered}
    assert all(outcome == 200 or isinstance(outcome, requests.ConnectionError) for outcome in outcomes.values()), [
        outcome for outcome in outcomes.values() if outcome != 200
    ][:5]
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
