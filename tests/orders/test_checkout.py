"""Placing orders over HTTP: from the cart or directly, totals and shipping, snapshots,
numbering, profile rule, idempotency."""

from __future__ import annotations

import re

from dorami_api.db.types import utcnow
from tests.orders.helpers import ORDERS, add, buy, placed
from tests.support.auth import signed_in
from tests.support.commerce import (
    ADDRESS,
    expire_hold,
    hold_status,
    live_stream,
    make_product,
    product_row,
    variant_ids,
)


def test_checking_out_the_cart_snapshots_the_order(app, client):
    stream_id, _ = live_stream(app)
    scarf = make_product(app, stock=5, price="19.99", stream_id=stream_id, name="Scarf")
    hat = make_product(app, stock=5, price="5.00", name="Hat")
    _, alice = signed_in(app, profile=True, name="Alice Park", instagram_id="@alice")
    scarf_line = add(client, alice, scarf, 3)
    hat_line = add(client, alice, hat, 1)

    order = placed(client.post(ORDERS, headers=alice))
    assert re.fullmatch(rf"ORD-{utcnow():%Y%m%d}-00001", order["id"])
    assert order["status"] == "PENDING_PAYMENT"
    assert (order["subtotal"], order["shippingFee"], order["total"]) == ("64.97", "10.00", "74.97")
    assert order["shippingAddress"] == ADDRESS  # decrypted snapshot
    assert order["depositorName"] == "DORA KIM" and order["instagramId"] == "@alice"
    assert [(i["productName"], i["unitPrice"], i["quantity"]) for i in order["items"]] == [
        ("Scarf", "19.99", 3),
        ("Hat", "5.00", 1),
    ]
    assert order["bankTransfer"]["amount"] == "74.97"

    assert hold_status(app, scarf_line["id"]) == hold_status(app, hat_line["id"]) == "ORDERED"
    assert product_row(app, scarf).stock == 2 and product_row(app, hat).stock == 4
    assert client.get("/api/v1/cart", headers=alice).get_json()["data"]["items"] == []

    # The snapshot does not follow later edits of the product.
    with app.app_context():
        from dorami_api.extensions import db
        from dorami_api.products.models import Product

        db.session.get(Product, scarf).name = "Renamed"
        db.session.commit()
    again = client.get(f"{ORDERS}/{order['id']}", headers=alice).get_json()["data"]
    assert again["items"][0]["productName"] == "Scarf"


def test_checking_out_selected_lines_leaves_the_rest(app, client):
    scarf = make_product(app, stock=5, name="Scarf")
    hat = make_product(app, stock=5, name="Hat")
    _, alice = signed_in(app, profile=True)
    scarf_line = add(client, alice, scarf, 1)
    hat_line = add(client, alice, hat, 2)
    order = placed(client.post(ORDERS, json={"cartItemIds": [hat_line["id"]]}, headers=alice))
    assert [item["productName"] for item in order["items"]] == ["Hat"]
    remaining = client.get("/api/v1/cart", headers=alice).get_json()["data"]["items"]
    assert [line["id"] for line in remaining] == [scarf_line["id"]]


def test_expired_and_empty_carts_are_refused(app, client):
    product_id = make_product(app, stock=5)
    _, alice = signed_in(app, profile=True)
    empty = client.post(ORDERS, headers=alice)
    assert empty.status_code == 409 and empty.get_json()["errorCode"] == "CART_EMPTY"

    line = add(client, alice, product_id, 2)
    expire_hold(app, line["id"])
    expired = client.post(ORDERS, headers=alice)
    assert expired.status_code == 409 and expired.get_json()["errorCode"] == "CART_EXPIRED"
    listed = client.post(ORDERS, json={"cartItemIds": [line["id"]]}, headers=alice)
    assert listed.status_code == 409 and listed.get_json()["details"]["itemIds"] == [line["id"]]
    assert product_row(app, product_id).stock == 5


def test_another_users_cart_line_cannot_be_checked_out(app, client):
    product_id = make_product(app, stock=5)
    _, alice = signed_in(app, profile=True)
    _, mallory = signed_in(app, profile=True)
    line = add(client, alice, product_id, 1)
    response = client.post(ORDERS, json={"cartItemIds": [line["id"]]}, headers=mallory)
    assert response.status_code == 404
    assert hold_status(app, line["id"]) == "ACTIVE"


def test_an_incomplete_profile_cannot_order(app, client):
    product_id = make_product(app, stock=5)
    _, newcomer = signed_in(app)
    add(client, newcomer, product_id)  # browsing and holding are fine
    for response in (client.post(ORDERS, headers=newcomer), buy(client, newcomer, (product_id, 1))):
        assert response.status_code == 403
        assert response.get_json()["errorCode"] == "PROFILE_INCOMPLETE"


def test_direct_orders_take_stock_and_refuse_what_is_not_there(app, client):
    product_id = make_product(app, stock=5, price="3.33")
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    add(client, bob, product_id, 1)  # held units are not for sale

    too_many = buy(client, alice, (product_id, 5))
    assert too_many.status_code == 409
    assert too_many.get_json()["errorCode"] == "INSUFFICIENT_STOCK"
    assert too_many.get_json()["details"] == {"productId": str(product_id), "available": 4, "requested": 5}

    order = placed(buy(client, alice, (product_id, 2), (product_id, 2)))  # same product, added together
    assert order["items"][0]["quantity"] == 4 and order["subtotal"] == "13.32" and order["total"] == "23.32"
    assert product_row(app, product_id).stock == 1
    assert product_row(app, product_id).status == "SOLD_OUT"  # the last unit is in Bob's cart

    sold_out = buy(client, alice, (product_id, 1))
    assert sold_out.status_code == 409 and sold_out.get_json()["errorCode"] == "PRODUCT_SOLD_OUT"


def test_a_restock_after_a_sell_out_sells_again_at_once(app, client):
    """Buys refused as sold out must not keep refusing once units are back."""
    product_id = make_product(app, stock=1)
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    placed(buy(client, alice, (product_id, 1)))
    refused = buy(client, bob, (product_id, 1))
    assert refused.status_code == 409 and refused.get_json()["errorCode"] == "PRODUCT_SOLD_OUT"

    restock = client.post(
        f"/api/v1/products/{product_id}/stock", json={"delta": 2}, headers=signed_in(app, role="ADMIN").headers
    )
    assert restock.status_code == 200, restock.get_json()
    assert placed(buy(client, bob, (product_id, 2)))["items"][0]["quantity"] == 2
    assert product_row(app, product_id).stock == 0


def test_direct_orders_of_variants(app, client):
    product_id = make_product(app, stock=3, variants=[{"size": "S", "stock": 1}, {"size": "M", "stock": 2}])
    small, medium = variant_ids(app, product_id)
    _, alice = signed_in(app, profile=True)
    assert buy(client, alice, (product_id, 1)).get_json()["errorCode"] == "VARIANT_REQUIRED"
    assert buy(client, alice, (product_id, 2, small)).get_json()["errorCode"] == "INSUFFICIENT_STOCK"
    order = placed(buy(client, alice, (product_id, 1, small), (product_id, 2, medium)))
    assert sorted(item["variantLabel"] for item in order["items"]) == ["M", "S"]
    assert product_row(app, product_id).stock == 0
    assert product_row(app, product_id).status == "SOLD_OUT"


def test_shipping_fee_rules(app, client):
    _, alice = signed_in(app, profile=True)
    plain = make_product(app, stock=50, price="100.00")
    free_stream, _ = live_stream(app, mode="UNCONDITIONAL")
    threshold_stream, _ = live_stream(app, mode="THRESHOLD", threshold="150.00")
    free = make_product(app, stock=50, price="100.00", stream_id=free_stream)
    threshold = make_product(app, stock=50, price="100.00", stream_id=threshold_stream)

    assert placed(buy(client, alice, (plain, 1)))["shippingFee"] == "10.00"
    assert placed(buy(client, alice, (free, 1)))["shippingFee"] == "0.00"
    assert placed(buy(client, alice, (threshold, 1)))["shippingFee"] == "10.00"
    reached = placed(buy(client, alice, (threshold, 2)))
    assert (reached["shippingFee"], reached["total"]) == ("0.00", "200.00")
    mixed = placed(buy(client, alice, (plain, 1), (free, 1)))
    assert mixed["shippingFee"] == "10.00"  # one fee per order; the store product is not shipped free

    client.put(
        "/api/v1/admin/config", json={"defaultShippingFee": "7.25"}, headers=signed_in(app, role="ADMIN").headers
    )
    order = placed(buy(client, alice, (plain, 1)))
    assert (order["shippingFee"], order["total"]) == ("7.25", "107.25")


def test_order_numbers_count_up_per_day(app, client):
    product_id = make_product(app, stock=10)
    _, alice = signed_in(app, profile=True)
    numbers = [placed(buy(client, alice, (product_id, 1)))["id"] for _ in range(3)]
    day = f"{utcnow():%Y%m%d}"
    assert numbers == [f"ORD-{day}-00001", f"ORD-{day}-00002", f"ORD-{day}-00003"]


def test_the_same_idempotency_key_returns_the_first_order(app, client):
    product_id = make_product(app, stock=10)
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    first = buy(client, alice, (product_id, 2), key="tap-1")
    assert first.status_code == 201
    replay = buy(client, alice, (product_id, 2), key="tap-1")
    assert replay.status_code == 200
    assert replay.get_json()["data"] == first.get_json()["data"]
    assert product_row(app, product_id).stock == 8

    assert buy(client, alice, (product_id, 1), key="tap-2").status_code == 201
    assert buy(client, bob, (product_id, 1), key="tap-1").status_code == 201  # keys are per user
    assert product_row(app, product_id).stock == 6

    add(client, alice, product_id, 1)
    cart_first = client.post(ORDERS, headers={**alice, "Idempotency-Key": "checkout-1"})
    cart_again = client.post(ORDERS, headers={**alice, "Idempotency-Key": "checkout-1"})
    assert (cart_first.status_code, cart_again.status_code) == (201, 200)
    assert cart_again.get_json()["data"] == cart_first.get_json()["data"]

    bad = buy(client, alice, (product_id, 1), key="x" * 201)
    assert bad.status_code == 400 and bad.get_json()["errorCode"] == "INVALID_IDEMPOTENCY_KEY"


def test_validation(app, client):
    product_id = make_product(app, stock=10)
    _, alice = signed_in(app, profile=True)
    assert client.post(f"{ORDERS}/direct", json={"items": []}, headers=alice).status_code == 400
    bad_quantity = {"items": [{"productId": str(product_id), "quantity": 0}]}
    assert client.post(f"{ORDERS}/direct", json=bad_quantity, headers=alice).status_code == 400
    extra = {"items": [{"productId": str(product_id), "quantity": 1}], "price": "0.01"}
    assert client.post(f"{ORDERS}/direct", json=extra, headers=alice).get_json()["errorCode"] == "VALIDATION_ERROR"
    anonymous = client.post(f"{ORDERS}/direct", json={"items": [{"productId": str(product_id), "quantity": 1}]})
    assert anonymous.status_code == 401
