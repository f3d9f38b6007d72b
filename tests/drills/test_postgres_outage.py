"""Drill: PostgreSQL goes away for a few seconds under two gunicorn workers while buyers keep
ordering.

The server reaches the shared PostgreSQL through a proxy the drill cuts: every connection is
dropped and new ones are refused, as when the server stops. Meanwhile every request gets an answer
— 503 SERVICE_UNAVAILABLE with Retry-After, never a 500 — and `ready` says the database is down.
When it is back the service recovers by itself, with no restart. No order is half-written or lost:
every order row has its item, every 201 is an order, a buyer who got a 503 and retries with the same
Idempotency-Key gets exactly one order (the first, if it was committed after all), and the units
sold plus the stock left are the units there were.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import pytest
import requests

from tests.drills.helpers import assert_no_server_errors, assert_unavailable, call, only_worker, order_book
from tests.support.auth import signed_in
from tests.support.commerce import make_product
from tests.support.outages import wait_until

pytestmark = pytest.mark.slow
STOCK = 5000
BUYERS = 24
STORM_THREADS = 12
MAX_ATTEMPTS_PER_THREAD = 80


@dataclass
class Attempt:
    key: str
    buyer: dict
    status: int
    order_id: str | None
    retry_after: str | None


class OrderStorm:
    """Threads placing direct orders of one unit, each with its own Idempotency-Key."""

    def __init__(self, server, product_id, buyers: list[dict]) -> None:
        self.server, self.product_id, self.buyers = server, product_id, buyers
        self.attempts: list[Attempt] = []
        self.failures: list[BaseException] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(index,)) for index in range(STORM_THREADS)]

    def __enter__(self) -> OrderStorm:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def count(self, status: int) -> int:
        with self._lock:
            return sum(1 for attempt in self.attempts if attempt.status == status)

    def _run(self, index: int) -> None:
        for number in range(MAX_ATTEMPTS_PER_THREAD):
            if self.stopping.is_set():
                return
            buyer = self.buyers[(index + number * STORM_THREADS) % len(self.buyers)]
            try:
                attempt = place(self.server, self.product_id, buyer, uuid.uuid4().hex)
            except requests.RequestException as error:
                self.failures.append(error)
                return
            with self._lock:
                self.attempts.append(attempt)
            if attempt.status == 503:
                self.stopping.wait(0.2)  # a client backs off on 503 (Retry-After) instead of spinning


def order_one(server, product_id, buyer: dict, key: str) -> requests.Response:
    body = {"items": [{"productId": str(product_id), "quantity": 1}]}
    return call(server, "POST", "/orders/direct", headers={**buyer, "Idempotency-Key": key}, json=body)


def place(server, product_id, buyer: dict, key: str) -> Attempt:
    response = order_one(server, product_id, buyer, key)
    order_id = response.json()["data"]["id"] if response.status_code in (200, 201) else None
    return Attempt(key, buyer, response.status_code, order_id, response.headers.get("Retry-After"))


def test_postgres_stopped_for_a_few_seconds_while_buyers_order(app, live_server, postgres_proxy, database_url):
    server = live_server(
        workers=2, DATABASE_URL=postgres_proxy.url_for(database_url), DB_POOL_SIZE="4", DB_MAX_OVERFLOW="0"
    )
    pids = server.wait_for_workers(2)
    product_id = make_product(app, stock=STOCK)
    buyers = [
        signed_in(app, profile=True, name=f"Buyer {i}", depositor_name=f"BUYER {i}").headers for i in range(BUYERS)
    ]

    with OrderStorm(server, product_id, buyers) as storm:
        wait_until(lambda: storm.count(201) >= 10, 30, "orders placed before the outage")
        postgres_proxy.cut()
        for pid in sorted(pids):
            with only_worker(server, pid, pids):
                assert_unavailable(call(server, "GET", "/auth/me", headers=buyers[0]))
                assert_unavailable(order_one(server, product_id, buyers[0], uuid.uuid4().hex))
                probe = call(server, "GET", "/health/ready")
                assert probe.status_code == 503 and probe.json()["info"]["database"]["status"] == "down"
        wait_until(lambda: storm.count(503) >= 10, 30, "buyers turned away while the database is down")
        placed_before_return = storm.count(201)
        postgres_proxy.restore()
        wait_until(lambda: call(server, "GET", "/health/ready").status_code == 200, 30, "ready after the return")
        wait_until(lambda: storm.count(201) >= placed_before_return + 10, 30, "orders placed after the return")
    assert storm.failures == []

    assert_no_server_errors(server)
    statuses = {attempt.status for attempt in storm.attempts}
    assert statuses <= {201, 503}, statuses
    assert all(attempt.retry_after for attempt in storm.attempts if attempt.status == 503)
    # Each buyer turned away retries with the same key: one order per key, whatever happened first.
    retried = [place(server, product_id, a.buyer, a.key) for a in storm.attempts if a.status == 503]
    assert {attempt.status for attempt in retried} <= {200, 201}, [a.status for a in retried]

    told = {a.order_id for a in storm.attempts if a.status == 201} | {a.order_id for a in retried}
    orders, stock = order_book(database_url, product_id)
    assert set(orders) == told  # no order the clients were not told about, none lost
    assert all(shape == (1, 1) for shape in orders.values())  # no half-written order
    assert stock == STOCK - len(orders)  # units conserved
    assert server.worker_pids() == pids  # recovered without a restart
