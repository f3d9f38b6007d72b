"""Atomic stock under mixed concurrency: holds, direct orders, checkouts,
cancellations, removals and restocks from many threads (each its own connection) at one product.
Whatever the interleaving, no unit is sold twice or lost: stock on hand always equals what came in
minus what live orders took, never goes negative, and live holds never exceed it."""

from __future__ import annotations

import random
import threading

import sqlalchemy as sa

from dorami_api.db import transactions
from dorami_api.extensions import db
from dorami_api.orders.models import Order, OrderItem
from dorami_api.products import stock
from tests.support.auth import signed_in
from tests.support.commerce import make_product, product_row

START = 20
THREADS = 16
STEPS = 12


def test_no_interleaving_oversells_or_loses_a_unit(app):
    product_id = make_product(app, stock=START)
    buyers = [
        signed_in(app, profile=True, name=f"Buyer {i}", depositor_name=f"BUYER {i}").headers for i in range(THREADS)
    ]
    restocked = []
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def restock(units: int) -> None:
        def work():
            product = stock.lock_product(product_id)
            stock.return_stock(product, None, units)
            stock.settle(product)

        with app.app_context():
            transactions.atomic(work)
            db.session.remove()
        with lock:
            restocked.append(units)

    def shopper_session(headers: dict, seed: int) -> None:
        rng = random.Random(seed)
        client = app.test_client()
        item = {"productId": str(product_id), "quantity": 1}
        start.wait()
        for _ in range(STEPS):
            action = rng.choice(("hold", "buy", "buy", "checkout", "cancel", "remove", "restock"))
            quantity = rng.randint(1, 3)
            if action == "hold":
                response = client.post("/api/v1/cart", json={**item, "quantity": quantity}, headers=headers)
            elif action == "buy":
                body = {"items": [{**item, "quantity": quantity}]}
                response = client.post("/api/v1/orders/direct", json=body, headers=headers)
            elif action == "checkout":
                response = client.post("/api/v1/orders", headers=headers)
            elif action == "cancel":
                mine = client.get("/api/v1/orders?status=PENDING_PAYMENT", headers=headers).get_json()["data"]
                if not mine["items"]:
                    continue
                response = client.post(f"/api/v1/orders/{mine['items'][0]['id']}/cancel", headers=headers)
            elif action == "remove":
                response = client.delete("/api/v1/cart", headers=headers)
            else:
                restock(quantity)
                continue
            with lock:
                statuses.append(response.status_code)

    threads = [threading.Thread(target=shopper_session, args=(h, i)) for i, h in enumerate(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert statuses and all(code < 500 for code in statuses), sorted(set(statuses))
    with app.app_context():
        sold = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(OrderItem.quantity), 0))
            .join(Order, Order.id == OrderItem.order_id)
            .where(OrderItem.product_id == product_id, Order.status != "CANCELLED")
        )
        held = stock.held_quantity(product_id)
    product = product_row(app, product_id)
    assert product.stock == START + sum(restocked) - sold
    assert product.stock >= 0 and held <= product.stock
    assert product.status == ("SOLD_OUT" if product.stock - held == 0 else "AVAILABLE")
    assert sold > 0
