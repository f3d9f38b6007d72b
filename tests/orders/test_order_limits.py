"""What an order refuses that once reached the database as a 500: a total past NUMERIC(10,2)
(409 ORDER_TOO_LARGE)."""

from __future__ import annotations

import sqlalchemy as sa

from dorami_api.extensions import db
from dorami_api.orders.models import Order
from tests.orders.helpers import ORDERS, add, buy, placed
from tests.support.commerce import hold_status, make_product, product_row, shopper

TOP_PRICE = "99999999.99"  # the largest price NUMERIC(10,2) holds


def _orders_of(app, user_id) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.user_id == user_id))


def test_a_direct_order_past_the_largest_total_is_409_and_takes_nothing(app, client):
    product_id = make_product(app, stock=10, price=TOP_PRICE)
    user, headers = shopper(app)
    refused = buy(client, headers, (product_id, 2))
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["errorCode"] == "ORDER_TOO_LARGE"
    assert body["details"]["maxTotal"] == TOP_PRICE and body["details"]["total"] == "200000009.98"
    assert product_row(app, product_id).stock == 10 and _orders_of(app, user.id) == 0
    # One unit plus the shipping fee is past it too; the largest total that fits is accepted.
    assert buy(client, headers, (product_id, 1)).get_json()["errorCode"] == "ORDER_TOO_LARGE"
    fits = make_product(app, stock=10, price="99999989.99")
    assert placed(buy(client, headers, (fits, 1)))["total"] == TOP_PRICE  # with the 10.00 fee


def test_a_cart_checkout_past_the_largest_total_is_409_and_keeps_the_holds(app, client):
    product_id = make_product(app, stock=10, price="60000000.00")
    user, headers = shopper(app)
    line = add(client, headers, product_id, quantity=2)
    refused = client.post(ORDERS, headers=headers)
    assert (refused.status_code, refused.get_json()["errorCode"]) == (409, "ORDER_TOO_LARGE")
    assert hold_status(app, line["id"]) == "ACTIVE" and product_row(app, product_id).stock == 10
    assert _orders_of(app, user.id) == 0
