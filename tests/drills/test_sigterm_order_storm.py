"""Drill: SIGTERM to gunicorn in the middle of an order storm.

Eighty buyers press "buy" at once on a product with fewer units than buyers, through two workers
that admit two orders each at a time, so that most are still waiting or being served when the
master gets SIGTERM; forty more keep coming while it stops. The server exits within the 30 s
graceful timeout; no buyer sees a 5xx other than 503 (a connection refused, or reset while it
still sat in the listen queue when the worker closed it, is fine: nothing was served); and the
database holds exactly the orders the buyers were
told about with 201, each with its item, the units sold plus the stock left being the units there
were.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.drills.helpers import call, order_book
from tests.support.auth import signed_in
from tests.support.commerce import make_product
from tests.support.outages import wait_until

pytestmark = pytest.mark.slow
STOCK = 60
FIRST_WAVE = 80
LATE_WAVE = 40
GRACEFUL_TIMEOUT_SECONDS = 30


def test_sigterm_during_an_order_storm(app, live_server, database_url):
    server = live_server(
        workers=2, RATELIMIT_ENABLED="false", ORDER_CONCURRENCY="2", DB_POOL_SIZE="6", DB_MAX_OVERFLOW="0"
    )
    server.wait_for_workers(2)
    product_id = make_product(app, stock=STOCK)
    buyers = [
        signed_in(app, profile=True, name=f"Buyer {i}", depositor_name=f"BUYER {i}").headers
        for i in range(FIRST_WAVE + LATE_WAVE)
    ]
    outcomes: dict[int, object] = {}
    start = threading.Barrier(FIRST_WAVE)

    def order(index: int, together: bool) -> None:
        if together:
            start.wait()
        body = {"items": [{"productId": str(product_id), "quantity": 1}]}
        headers = {**buyers[index], "Idempotency-Key": uuid.uuid4().hex}
        try:
            # Queued buyers wait for their turn (admission) up to 20 s; the graceful stop lets them.
            response = call(server, "POST", "/orders/direct", timeout=45, headers=headers, json=body)
        except requests.ConnectionError as error:
            outcomes[index] = error
            return
        outcomes[index] = response.json()["data"]["id"] if response.status_code == 201 else response.status_code

    with ThreadPoolExecutor(max_workers=FIRST_WAVE + LATE_WAVE) as pool:
        first = [pool.submit(order, index, True) for index in range(FIRST_WAVE)]
        wait_until(lambda: sum(isinstance(o, str) for o in outcomes.values()) >= 5, 60, "the first orders placed")
        in_flight_at_sigterm = FIRST_WAVE - len(outcomes)
        stopping = time.monotonic()
        server.signal(signal.SIGTERM)
        late = []
        for index in range(FIRST_WAVE, FIRST_WAVE + LATE_WAVE):
            late.append(pool.submit(order, index, False))
            time.sleep(0.01)
        exit_code = server.wait(timeout=GRACEFUL_TIMEOUT_SECONDS + 10)
        took = time.monotonic() - stopping
        for future in first + late:
            future.result(timeout=60)

    assert in_flight_at_sigterm > 0
    assert exit_code == 0, server.log()[-3000:]
    assert took <= GRACEFUL_TIMEOUT_SECONDS, f"stopped in {took:.1f}s"
    statuses = {o for o in outcomes.values() if isinstance(o, int)}
    assert statuses <= {409, 503}, outcomes  # sold out, or turned away whole; never another 5xx

    told = {o for o in outcomes.values() if isinstance(o, str)}
    orders, stock = order_book(database_url, product_id)
    assert set(orders) == told
    assert all(shape == (1, 1) for shape in orders.values())
    assert stock == STOCK - len(orders)
