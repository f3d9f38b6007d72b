"""The shipping waiver: one fee per order, waived only when every item's stream waives
it — UNCONDITIONAL, or THRESHOLD reached by the subtotal of that stream's own items. A store
product never waives it. The cart summary and the order agree."""

from __future__ import annotations

from tests.orders.helpers import CART, ORDERS, add, buy, placed
from tests.support.auth import signed_in
from tests.support.commerce import live_stream, make_product


def _cart(client, headers) -> dict:
    response = client.get(CART, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def test_one_free_shipping_item_does_not_carry_a_store_product(app, client):
    free_stream, _ = live_stream(app, mode="UNCONDITIONAL")
    sticker = make_product(app, stock=5, price="0.01", stream_id=free_stream, name="Sticker")
    sofa = make_product(app, stock=5, price="500.00", name="Sofa")
    _, alice = signed_in(app, profile=True)

    order = placed(buy(client, alice, (sticker, 1), (sofa, 1)))
    assert (order["subtotal"], order["shippingFee"], order["total"]) == ("500.01", "10.00", "510.01")

    add(client, alice, sticker, 1)
    add(client, alice, sofa, 1)
    cart = _cart(client, alice)
    assert (cart["subtotal"], cart["shippingFee"], cart["total"]) == ("500.01", "10.00", "510.01")
    checkout = client.post(ORDERS, headers=alice)
    assert checkout.status_code == 201, checkout.get_json()
    assert checkout.get_json()["data"]["shippingFee"] == "10.00"

    alone = placed(buy(client, alice, (sticker, 1)))
    assert alone["shippingFee"] == "0.00"


def test_a_threshold_counts_only_its_own_streams_items(app, client):
    free_stream, _ = live_stream(app, mode="UNCONDITIONAL")
    threshold_stream, _ = live_stream(app, mode="THRESHOLD", threshold="100.00")
    free = make_product(app, stock=20, price="300.00", stream_id=free_stream, name="Coat")
    mug = make_product(app, stock=20, price="40.00", stream_id=threshold_stream, name="Mug")
    _, bob = signed_in(app, profile=True)

    # 340.00 in all, but the threshold stream's own items come to 40.00: the fee is due.
    below = placed(buy(client, bob, (free, 1), (mug, 1)))
    assert (below["subtotal"], below["shippingFee"]) == ("340.00", "10.00")
    add(client, bob, free, 1)
    line = add(client, bob, mug, 1)
    assert _cart(client, bob)["shippingFee"] == "10.00"

    # The threshold stream reaches 120.00 on its own: every stream waives, so nothing is due.
    reached = placed(buy(client, bob, (free, 1), (mug, 3)))
    assert (reached["subtotal"], reached["shippingFee"], reached["total"]) == ("420.00", "0.00", "420.00")
    assert client.patch(f"{CART}/{line['id']}", json={"quantity": 3}, headers=bob).status_code == 200
    cart = _cart(client, bob)
    assert (cart["subtotal"], cart["shippingFee"]) == ("420.00", "0.00")


def test_a_stream_without_free_shipping_keeps_the_fee(app, client):
    free_stream, _ = live_stream(app, mode="UNCONDITIONAL")
    plain_stream, _ = live_stream(app, mode="DISABLED")
    free = make_product(app, stock=5, price="10.00", stream_id=free_stream)
    plain = make_product(app, stock=5, price="10.00", stream_id=plain_stream)
    _, carol = signed_in(app, profile=True)
    assert placed(buy(client, carol, (free, 1), (plain, 1)))["shippingFee"] == "10.00"
