"""What an order refuses that once reached the database as a 500, or sold what was not on sale: a
total past NUMERIC(10,2) (409 ORDER_TOO_LARGE), a product hidden after it was put in the cart."""

from __future__ import annotations

import sqlalchemy as sa

from dorami_api.extensions import db
from dorami_api.orders.models import Order
from tests.orders.helpers import ORDERS, add, buy, placed
from tests.support.auth import signed_in
from tests.support.commerce import hold_status, make_product, product_row

TOP_PRICE = "99999999.99"  # the largest price NUMERIC(10,2) holds


def _orders_of(app, user_id) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.user_id == user_id))


def test_a_direct_order_past_the_largest_total_is_409_and_takes_nothing(app, client):
    product_id = make_product(app, stock=10, price=TOP_PRICE)
    user, headers = signed_in(app, profile=True)
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
    user, headers = signed_in(app, profile=True)
    line = add(client, headers, product_id, quantity=2)
    refused = client.post(ORDERS, headers=headers)
    assert (refused.status_code, refused.get_json()["errorCode"]) == (409, "ORDER_TOO_LARGE")
    assert hold_status(app, line["id"]) == "ACTIVE" and product_row(app, product_id).stock == 10
    assert _orders_of(app, user.id) == 0


def test_a_product_hidden_after_the_hold_is_not_sold_and_no_unit_is_lost(app, client):
    product_id = make_product(app, stock=5)
    other = make_product(app, stock=5)
    user, headers = signed_in(app, profile=True)
    line = add(client, headers, product_id, quantity=2)
    add(client, headers, other, quantity=1)
    staff = signed_in(app, role="ADMIN").headers
    hide = client.patch(f"/api/v1/products/{product_id}", json={"status": "HIDDEN"}, headers=staff)
    assert hide.status_code == 200

    refused = client.post(ORDERS, headers=headers)
    assert (refused.status_code, refused.get_json()["errorCode"]) == (404, "PRODUCT_NOT_FOUND")
    assert refused.get_json()["details"] == {"productId": str(product_id)}
    listed = client.post(ORDERS, json={"cartItemIds": [line["id"]]}, headers=headers)
    assert listed.status_code == 404
    # Nothing was sold and nothing was lost: the stock is whole and the hold still holds it.
    assert product_row(app, product_id).stock == 5 and hold_status(app, line["id"]) == "ACTIVE"
    assert _orders_of(app, user.id) == 0
    product = client.get(f"/api/v1/products/{product_id}", headers=staff).get_json()["data"]
    assert (product["stock"], product["available"]) == (5, 3)

    # Shown again, the same hold checks out.
    shown = client.patch(f"/api/v1/products/{product_id}", json={"status": "AVAILABLE"}, headers=staff)
    assert shown.status_code == 200
    order = placed(client.post(ORDERS, json={"cartItemIds": [line["id"]]}, headers=headers))
    assert [(item["productId"], item["quantity"]) for item in order["items"]] == [(str(product_id), 2)]
    assert product_row(app, product_id).stock == 3
    assert hold_status(app, line["id"]) == "ORDERED"
