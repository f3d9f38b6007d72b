"""Units never stranded between a product and its variants: a product with variants has
stock = the sum of its variants', every hold, order line and waitlist entry of it names a
variant, so variants cannot be added while claims name none nor removed while claims name them
(409 VARIANTS_CONFLICT)."""

from __future__ import annotations

from tests.orders.helpers import ADMIN_ORDERS, CART, ORDERS, add, buy, placed
from tests.support.auth import signed_in
from tests.support.commerce import make_product

PRODUCTS = "/api/v1/products"
WAITLIST = "/api/v1/waitlist"


def _patch(client, headers, product_id, **body):
    return client.patch(f"{PRODUCTS}/{product_id}", json=body, headers=headers)


def _product(client, headers, product_id) -> dict:
    response = client.get(f"{PRODUCTS}/{product_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def _conflict(response, claimed: str) -> None:
    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert body["errorCode"] == "VARIANTS_CONFLICT"
    assert claimed in body["details"]["claimedBy"]


def _assert_sum(product: dict) -> None:
    if product["variants"]:
        assert product["stock"] == sum(v["stock"] for v in product["variants"])


def test_adding_the_first_variant_under_a_live_hold_is_refused(app, client):
    boss = signed_in(app, role="ADMIN").headers
    product_id = make_product(app, stock=2)
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    line = add(client, alice, product_id, 2)

    _conflict(_patch(client, boss, product_id, variants=[{"size": "S", "price": "29.50", "stock": 2}]), "holds")
    unchanged = _product(client, boss, product_id)
    assert (unchanged["stock"], unchanged["variants"], unchanged["status"]) == (2, [], "SOLD_OUT")

    # The hold checks out as the product it was, and nothing is left behind.
    order = placed(client.post(ORDERS, json={"cartItemIds": [line["id"]]}, headers=alice))
    assert order["items"][0]["variantId"] is None
    assert _product(client, boss, product_id)["stock"] == 0
    # That open order names no variant either: its units could come back.
    _conflict(_patch(client, boss, product_id, variants=[{"size": "S", "price": "29.50", "stock": 2}]), "orders")
    assert client.post(f"{ORDERS}/{order['id']}/cancel", headers=alice).status_code == 200
    assert _product(client, boss, product_id)["stock"] == 2

    # With no claim left the variant comes in, with its own units, and sells by variant.
    added = _patch(client, boss, product_id, variants=[{"size": "S", "price": "29.50", "stock": 2}])
    assert added.status_code == 200, added.get_json()
    product = added.get_json()["data"]
    assert (product["stock"], product["status"]) == (2, "AVAILABLE")
    small = product["variants"][0]["id"]
    placed(buy(client, bob, (product_id, 1, small)))
    held = add(client, bob, product_id, 1, variantId=small)
    checkout = placed(client.post(ORDERS, json={"cartItemIds": [held["id"]]}, headers=bob))
    assert checkout["items"][0]["variantId"] == small
    after = _product(client, boss, product_id)
    assert (after["stock"], after["variants"][0]["stock"], after["status"]) == (0, 0, "SOLD_OUT")


def test_adding_the_first_variant_while_someone_waits_without_one_is_refused(app, client):
    boss = signed_in(app, role="ADMIN").headers
    product_id = make_product(app, stock=0)
    _, carol = signed_in(app, profile=True)
    joined = client.post(WAITLIST, json={"productId": str(product_id), "quantity": 1}, headers=carol)
    assert joined.status_code == 201, joined.get_json()

    _conflict(_patch(client, boss, product_id, variants=[{"size": "M", "price": "9.00", "stock": 3}]), "waitlist")
    assert _product(client, boss, product_id)["variants"] == []

    assert client.delete(f"{WAITLIST}/{joined.get_json()['data']['id']}", headers=carol).status_code == 204
    added = _patch(client, boss, product_id, variants=[{"size": "M", "price": "9.00", "stock": 3}])
    assert added.status_code == 200, added.get_json()
    assert added.get_json()["data"]["stock"] == 3


def test_adding_the_first_variant_while_an_open_order_names_none_is_refused(app, client):
    boss = signed_in(app, role="ADMIN").headers
    product_id = make_product(app, stock=3)
    _, dan = signed_in(app, profile=True)
    order = placed(buy(client, dan, (product_id, 1)))

    _conflict(_patch(client, boss, product_id, variants=[{"size": "L", "price": "9.00", "stock": 4}]), "orders")

    # Cancelled, the order's unit is back on the product; then the variants may replace its stock.
    assert client.post(f"{ORDERS}/{order['id']}/cancel", headers=dan).status_code == 200
    assert _product(client, boss, product_id)["stock"] == 3
    added = _patch(client, boss, product_id, variants=[{"size": "L", "price": "9.00", "stock": 4}])
    assert added.status_code == 200, added.get_json()
    _assert_sum(added.get_json()["data"])


def test_a_variant_still_claimed_cannot_be_removed(app, client):
    boss = signed_in(app, role="ADMIN").headers
    sizes = [{"size": "S", "stock": 2}, {"size": "M", "stock": 1}]
    product_id = make_product(app, stock=3, variants=sizes)
    small, medium = (v["id"] for v in _product(client, boss, product_id)["variants"])
    keep_small = [{"id": small, "size": "S", "price": "29.50", "stock": 2}]
    _, erin = signed_in(app, profile=True)
    _, finn = signed_in(app, profile=True)

    # A live hold of M.
    line = add(client, erin, product_id, 1, variantId=medium)
    _conflict(_patch(client, boss, product_id, variants=keep_small), "holds")
    assert client.delete(f"{CART}/{line['id']}", headers=erin).status_code == 204

    # Someone waiting for M.
    placed(buy(client, erin, (product_id, 1, medium)))
    waiting = client.post(
        WAITLIST, json={"productId": product_id, "variantId": medium, "quantity": 1}, headers=finn
    ).get_json()["data"]
    _conflict(_patch(client, boss, product_id, variants=keep_small), "waitlist")
    assert client.delete(f"{WAITLIST}/{waiting['id']}", headers=finn).status_code == 204

    # An order of M not yet delivered: refused while pending, paid and shipped.
    order_id = client.get(ORDERS, headers=erin).get_json()["data"]["items"][0]["id"]
    _conflict(_patch(client, boss, product_id, variants=keep_small), "orders")
    assert client.post(f"{ADMIN_ORDERS}/{order_id}/confirm-payment", headers=boss).status_code == 200
    _conflict(_patch(client, boss, product_id, variants=keep_small), "orders")
    shipped = client.post(f"{ADMIN_ORDERS}/{order_id}/ship", json={"trackingNumber": "TRK-1"}, headers=boss)
    assert shipped.status_code == 200, shipped.get_json()
    _conflict(_patch(client, boss, product_id, variants=keep_small), "orders")
    assert client.post(f"{ADMIN_ORDERS}/{order_id}/deliver", headers=boss).status_code == 200

    removed = _patch(client, boss, product_id, variants=keep_small)
    assert removed.status_code == 200, removed.get_json()
    product = removed.get_json()["data"]
    assert [v["size"] for v in product["variants"]] == ["S"] and product["stock"] == 2

    # S is bought; removing it waits until that order is cancelled, whose unit goes back to S.
    order = placed(buy(client, finn, (product_id, 1, small)))
    _conflict(_patch(client, boss, product_id, variants=[]), "orders")
    assert client.post(f"{ORDERS}/{order['id']}/cancel", headers=finn).status_code == 200
    back = _product(client, boss, product_id)
    assert (back["stock"], back["variants"][0]["stock"]) == (2, 2)


def test_a_cancelled_variant_line_returns_to_its_variant(app, client):
    boss = signed_in(app, role="ADMIN").headers
    product_id = make_product(app, stock=4, variants=[{"size": "S", "stock": 2}, {"size": "M", "stock": 2}])
    small, medium = (v["id"] for v in _product(client, boss, product_id)["variants"])
    _, gus = signed_in(app, profile=True)
    order = placed(buy(client, gus, (product_id, 2, small), (product_id, 1, medium)))
    assert client.post(f"{ORDERS}/{order['id']}/cancel", headers=gus).status_code == 200
    product = _product(client, boss, product_id)
    assert {v["size"]: v["stock"] for v in product["variants"]} == {"S": 2, "M": 2}
    _assert_sum(product)
