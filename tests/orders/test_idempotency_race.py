"""Idempotency under a race: a double-tap sends the same Idempotency-Key twice at the
same moment, to different server processes. One order is placed; both answers carry it."""

from __future__ import annotations

import threading

import pytest
import requests
import sqlalchemy as sa

from dorami_api.extensions import db
from dorami_api.orders.models import Order
from tests.orders.helpers import add
from tests.support.auth import signed_in
from tests.support.commerce import make_product, product_row

pytestmark = pytest.mark.slow
ROUNDS = 5


def _twins(url: str, path: str, headers: dict, body: dict | None, other_body: dict | None = None) -> list:
    start = threading.Barrier(2)
    answers: list = [None, None]

    def send(index: int) -> None:
        with requests.Session() as session:
            start.wait()
            payload = other_body if index and other_body is not None else body
            headers_ = {**headers, "Connection": "close"}
            response = session.post(f"{url}{path}", json=payload, headers=headers_, timeout=30)
            answers[index] = (response.status_code, response.json())

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_the_same_key_at_the_same_moment_places_one_order(app, client, live_server):
    product_id = make_product(app, stock=100)
    alice_user, alice = signed_in(app, profile=True)
    server = live_server(workers=2, RATELIMIT_ENABLED="false", DB_POOL_SIZE="4", DB_MAX_OVERFLOW="0")
    body = {"items": [{"productId": str(product_id), "quantity": 2}]}

    for round_number in range(ROUNDS):
        headers = {**alice, "Idempotency-Key": f"double-tap-{round_number}"}
        (first_status, first), (second_status, second) = _twins(server.url, "/api/v1/orders/direct", headers, body)
        assert sorted([first_status, second_status]) == [200, 201], (first, second)
        assert first["data"] == second["data"]

    # A cart checkout raced with itself: one order, the other answer is the same order.
    add(client, alice, product_id, 3)
    headers = {**alice, "Idempotency-Key": "checkout"}
    (first_status, first), (second_status, second) = _twins(server.url, "/api/v1/orders", headers, None)
    assert sorted([first_status, second_status]) == [200, 201], (first, second)
    assert first["data"] == second["data"]

    # Twins naming different products take different locks: the unique (user, key) constraint
    # decides, and the loser's stock change is rolled back with everything else.
    hat_id = make_product(app, stock=10, name="Hat")
    hat_body = {"items": [{"productId": str(hat_id), "quantity": 1}]}
    headers = {**alice, "Idempotency-Key": "two-products"}
    (first_status, first), (second_status, second) = _twins(
        server.url, "/api/v1/orders/direct", headers, body, hat_body
    )
    assert sorted([first_status, second_status]) == [200, 201], (first, second)
    assert first["data"] == second["data"]
    bought_hat = first["data"]["items"][0]["productId"] == str(hat_id)

    with app.app_context():
        orders = db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.user_id == alice_user.id))
    assert orders == ROUNDS + 2
    assert product_row(app, product_id).stock == 100 - 2 * ROUNDS - 3 - (0 if bought_hat else 2)
    assert product_row(app, hat_id).stock == (9 if bought_hat else 10)
