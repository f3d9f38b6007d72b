"""Cart holds over HTTP: holding, merging, timers, expiry without any job, quantity
changes, removal, ownership, totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.auth import signed_in
from tests.support.commerce import (
    expire_hold,
    live_stream,
    make_product,
    product_row,
    variant_ids,
)

CART = "/api/v1/cart"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def add(client, headers, product_id, quantity=1, **extra):
    return client.post(CART, json={"productId": str(product_id), "quantity": quantity, **extra}, headers=headers)


def test_adding_holds_stock_until_an_absolute_server_time(app, client):
    product_id = make_product(app, stock=5, hold_minutes=10)
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)

    response = add(client, alice, product_id, 3)
    assert response.status_code == 201
    line = response.get_json()["data"]
    assert line["quantity"] == 3 and line["unitPrice"] == "29.50" and line["lineTotal"] == "88.50"
    expected = datetime.now(UTC) + timedelta(minutes=10)
    assert abs((_at(line["expiresAt"]) - expected).total_seconds()) < 5

    refused = add(client, bob, product_id, 3)
    assert refused.status_code == 409
    assert refused.get_json()["errorCode"] == "INSUFFICIENT_STOCK"
    assert refused.get_json()["details"]["available"] == 2
    assert add(client, bob, product_id, 2).status_code == 201
    assert product_row(app, product_id).status == "SOLD_OUT"  # nothing left to hold
    assert product_row(app, product_id).stock == 5  # a hold is not a sale

    sold_out = add(client, bob, product_id, 1)
    assert sold_out.status_code == 409 and sold_out.get_json()["errorCode"] == "PRODUCT_SOLD_OUT"


def test_hold_minutes_zero_means_no_timer(app, client):
    product_id = make_product(app, stock=2, hold_minutes=0)
    _, alice = signed_in(app, profile=True)
    line = add(client, alice, product_id).get_json()["data"]
    assert line["expiresAt"] is None


def test_a_repeated_add_merges_and_restarts_the_timer(app, client):
    product_id = make_product(app, stock=10, hold_minutes=10)
    _, alice = signed_in(app, profile=True)
    first = add(client, alice, product_id, 2).get_json()["data"]
    expire_hold(app, first["id"], seconds_ago=-60)  # only one minute left on the timer

    again = add(client, alice, product_id, 3)
    assert again.status_code == 201
    merged = again.get_json()["data"]
    assert merged["id"] == first["id"] and merged["quantity"] == 5
    assert _at(merged["expiresAt"]) > datetime.now(UTC) + timedelta(minutes=9)

    cart = client.get(CART, headers=alice).get_json()["data"]
    assert [item["quantity"] for item in cart["items"]] == [5]


def test_an_expired_hold_frees_its_units_at_once_without_any_job(app, client):
    product_id = make_product(app, stock=2)
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    line = add(client, alice, product_id, 2).get_json()["data"]
    assert add(client, bob, product_id, 1).get_json()["errorCode"] == "PRODUCT_SOLD_OUT"

    expire_hold(app, line["id"])
    assert client.get(CART, headers=alice).get_json()["data"]["items"] == []
    assert add(client, bob, product_id, 2).status_code == 201


def test_quantity_changes_recheck_availability(app, client):
    product_id = make_product(app, stock=5)
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    line = add(client, alice, product_id, 2).get_json()["data"]
    add(client, bob, product_id, 2)

    too_many = client.patch(f"{CART}/{line['id']}", json={"quantity": 4}, headers=alice)
    assert too_many.status_code == 409 and too_many.get_json()["errorCode"] == "INSUFFICIENT_STOCK"
    assert too_many.get_json()["details"]["available"] == 3

    changed = client.patch(f"{CART}/{line['id']}", json={"quantity": 3}, headers=alice)
    assert changed.status_code == 200 and changed.get_json()["data"]["quantity"] == 3
    assert product_row(app, product_id).status == "SOLD_OUT"

    fewer = client.patch(f"{CART}/{line['id']}", json={"quantity": 1}, headers=alice)
    assert fewer.status_code == 200
    assert product_row(app, product_id).status == "AVAILABLE"
    assert add(client, bob, product_id, 2).status_code == 201


def test_changing_an_expired_line_is_refused(app, client):
    product_id = make_product(app, stock=5)
    _, alice = signed_in(app, profile=True)
    line = add(client, alice, product_id, 1).get_json()["data"]
    expire_hold(app, line["id"])
    response = client.patch(f"{CART}/{line['id']}", json={"quantity": 2}, headers=alice)
    assert response.status_code == 409 and response.get_json()["errorCode"] == "CART_EXPIRED"


def test_removing_a_line_or_clearing_the_cart_frees_stock_at_once(app, client):
    scarf = make_product(app, stock=1, name="Scarf")
    hat = make_product(app, stock=1, name="Hat")
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    line = add(client, alice, scarf).get_json()["data"]
    add(client, alice, hat)
    assert product_row(app, scarf).status == "SOLD_OUT"

    assert client.delete(f"{CART}/{line['id']}", headers=alice).status_code == 204
    assert product_row(app, scarf).status == "AVAILABLE"
    assert add(client, bob, scarf).status_code == 201

    assert client.delete(CART, headers=alice).status_code == 204
    assert client.get(CART, headers=alice).get_json()["data"]["items"] == []
    assert add(client, bob, hat).status_code == 201
    assert client.delete(f"{CART}/{line['id']}", headers=alice).status_code == 404


def test_another_users_line_is_not_found(app, client):
    product_id = make_product(app, stock=5)
    _, alice = signed_in(app, profile=True)
    _, mallory = signed_in(app, profile=True)
    line = add(client, alice, product_id).get_json()["data"]

    assert client.patch(f"{CART}/{line['id']}", json={"quantity": 2}, headers=mallory).status_code == 404
    assert client.delete(f"{CART}/{line['id']}", headers=mallory).status_code == 404
    assert client.get(CART, headers=mallory).get_json()["data"]["items"] == []
    assert client.get(CART, headers=alice).get_json()["data"]["items"][0]["quantity"] == 1


def test_cart_totals_are_money_strings_with_one_shipping_fee(app, client):
    stream_id, stream_key = live_stream(app)
    scarf = make_product(app, stock=5, price="19.99", stream_id=stream_id)
    hat = make_product(app, stock=5, price="0.10", stream_id=stream_id)
    _, alice = signed_in(app, profile=True)
    add(client, alice, scarf, 3)
    add(client, alice, hat, 3)
    cart = client.get(CART, headers=alice).get_json()["data"]
    assert cart["items"][0]["streamKey"] == add(client, alice, hat, 1).get_json()["data"]["streamKey"]
    cart = client.get(CART, headers=alice).get_json()["data"]
    assert cart["subtotal"] == "60.37"  # 59.97 + 0.30, exact
    assert cart["shippingFee"] == "10.00"
    assert cart["total"] == "70.37"
    assert cart["itemCount"] == 7
    assert cart["items"][0]["streamKey"] == stream_key
    assert cart["serverTime"] and cart["earliestExpiresAt"]


def test_variants_hold_their_own_stock(app, client):
    product_id = make_product(
        app, stock=3, variants=[{"size": "S", "stock": 1, "price": "10.00"}, {"size": "M", "stock": 2}]
    )
    small, medium = variant_ids(app, product_id)
    _, alice = signed_in(app, profile=True)
    assert add(client, alice, product_id).get_json()["errorCode"] == "VARIANT_REQUIRED"
    line = add(client, alice, product_id, 1, variantId=str(small)).get_json()["data"]
    assert line["unitPrice"] == "10.00" and line["variantLabel"] == "S"
    assert add(client, alice, product_id, 1, variantId=str(small)).get_json()["errorCode"] == "PRODUCT_SOLD_OUT"
    assert add(client, alice, product_id, 2, variantId=str(medium)).status_code == 201
    assert product_row(app, product_id).status == "SOLD_OUT"


def test_bad_requests(app, client):
    product_id = make_product(app, stock=5)
    hidden = make_product(app, stock=5, status="HIDDEN")
    _, alice = signed_in(app, profile=True)
    assert client.post(CART, json={"productId": str(product_id)}).status_code == 401
    assert add(client, alice, product_id, 0).status_code == 400
    assert add(client, alice, product_id, 1, color="red").get_json()["errorCode"] == "VALIDATION_ERROR"
    assert client.post(CART, json={"productId": "nope"}, headers=alice).status_code == 400
    assert add(client, alice, hidden).status_code == 404
    assert add(client, alice, "00000000-0000-0000-0000-000000000000").status_code == 404


def test_the_cart_waives_shipping_only_when_every_streams_terms_do(app, client):
    free = live_stream(app, {"price": "5.00"}, mode="UNCONDITIONAL")
    threshold = live_stream(app, {"price": "30.00"}, mode="THRESHOLD", threshold="50.00")
    store_product = make_product(app, price="1.00")
    _, alice = signed_in(app, profile=True)
    empty = client.get(CART, headers=alice).get_json()["data"]
    assert (empty["items"], empty["subtotal"], empty["shippingFee"], empty["total"]) == ([], "0.00", "0.00", "0.00")

    add(client, alice, free.product_ids[0], 1)
    add(client, alice, threshold.product_ids[0], 2)  # 60.00 of that stream: its threshold is reached
    cart = client.get(CART, headers=alice).get_json()["data"]
    assert (cart["subtotal"], cart["shippingFee"], cart["total"]) == ("65.00", "0.00", "65.00")
    assert [item["streamKey"] for item in cart["items"]] == [free.key, threshold.key]

    add(client, alice, store_product, 1)  # a store product ships at the default fee
    cart = client.get(CART, headers=alice).get_json()["data"]
    assert (cart["subtotal"], cart["shippingFee"], cart["total"]) == ("66.00", "10.00", "76.00")
    assert cart["items"][2]["streamKey"] is None and cart["items"][2]["streamId"] is None
