"""The waitlist over HTTP: join only when sold out, positions, leave; released stock
promotes the first in line with a hold; an unused promotion passes on."""

from __future__ import annotations

import pytest

from dorami_api.jobs import sweeps
from dorami_api.realtime import broadcast
from dorami_api.waitlist import service as waitlist
from tests.orders.helpers import ADMIN_ORDERS, ORDERS, add, buy, placed
from tests.support.auth import signed_in
from tests.support.commerce import (
    expire_hold,
    hold_status,
    make_product,
    product_row,
    set_stock,
)

WAITLIST = "/api/v1/waitlist"


@pytest.fixture
def promoted(monkeypatch):
    """Every waitlist:promoted sent, as (user id, data)."""
    sent = []
    monkeypatch.setattr(broadcast, "waitlist_promoted", lambda user_id, data: sent.append((user_id, data)))
    return sent


def join(client, headers, product_id, quantity=1):
    return client.post(WAITLIST, json={"productId": str(product_id), "quantity": quantity}, headers=headers)


def cart(client, headers) -> list[dict]:
    return client.get("/api/v1/cart", headers=headers).get_json()["data"]["items"]


def test_join_only_when_sold_out_and_see_your_position(app, client):
    product_id = make_product(app, stock=1)
    _, holder = signed_in(app, profile=True)
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)

    early = join(client, alice, product_id)
    assert early.status_code == 409 and early.get_json()["errorCode"] == "PRODUCT_AVAILABLE"

    add(client, holder, product_id)
    first = join(client, alice, product_id)
    assert first.status_code == 201 and first.get_json()["data"]["position"] == 1
    second = join(client, bob, product_id, 2).get_json()["data"]
    assert (second["position"], second["status"], second["quantity"]) == (2, "WAITING", 2)
    duplicate = join(client, alice, product_id)
    assert duplicate.status_code == 409 and duplicate.get_json()["errorCode"] == "ALREADY_ON_WAITLIST"

    mine = client.get(WAITLIST, headers=bob).get_json()["data"]["items"]
    assert [(e["id"], e["position"]) for e in mine] == [(second["id"], 2)]
    assert client.get(f"{WAITLIST}/{second['id']}", headers=alice).status_code == 404
    assert client.delete(f"{WAITLIST}/{second['id']}", headers=alice).status_code == 404

    assert client.delete(f"{WAITLIST}/{first.get_json()['data']['id']}", headers=alice).status_code == 204
    assert client.get(f"{WAITLIST}/{second['id']}", headers=bob).get_json()["data"]["position"] == 1
    assert client.get(WAITLIST, headers=alice).get_json()["data"]["items"] == []
    assert join(client, alice, "00000000-0000-0000-0000-000000000000").status_code == 404


def test_a_released_hold_promotes_the_first_in_line(app, client, promoted):
    product_id = make_product(app, stock=2, hold_minutes=5)
    holder_user, holder = signed_in(app, profile=True)
    alice_user, alice = signed_in(app, profile=True)
    bob_user, bob = signed_in(app, profile=True)
    line = add(client, holder, product_id, 2)
    alice_entry = join(client, alice, product_id, 1).get_json()["data"]
    join(client, bob, product_id, 1)

    assert client.delete(f"/api/v1/cart/{line['id']}", headers=holder).status_code == 204
    # Two units freed: Alice first, then Bob, each with a timed hold in their cart.
    assert [user for user, _ in promoted] == [str(alice_user.id), str(bob_user.id)]
    alice_cart = cart(client, alice)
    assert [(item["source"], item["quantity"]) for item in alice_cart] == [("WAITLIST", 1)]
    assert alice_cart[0]["expiresAt"] is not None
    assert promoted[0][1]["cartItemId"] == alice_cart[0]["id"]
    entry = client.get(f"{WAITLIST}/{alice_entry['id']}", headers=alice).get_json()["data"]
    assert (entry["status"], entry["position"], entry["holdId"]) == ("PROMOTED", None, alice_cart[0]["id"])
    assert product_row(app, product_id).status == "SOLD_OUT"  # the units went to the queue, not the shelf

    order = placed(client.post(ORDERS, headers=alice))
    assert order["items"][0]["quantity"] == 1
    assert client.get(f"{WAITLIST}/{alice_entry['id']}", headers=alice).get_json()["data"]["status"] == "COMPLETED"


def test_first_in_line_gets_what_was_released(app, client, promoted):
    product_id = make_product(app, stock=1)
    _, holder = signed_in(app, profile=True)
    _, alice = signed_in(app, profile=True)
    line = add(client, holder, product_id, 1)
    join(client, alice, product_id, 3)
    client.delete(f"/api/v1/cart/{line['id']}", headers=holder)
    assert [item["quantity"] for item in cart(client, alice)] == [1]


def test_an_unused_promotion_passes_to_the_next_in_line(app, client, promoted):
    product_id = make_product(app, stock=1)
    _, holder = signed_in(app, profile=True)
    alice_user, alice = signed_in(app, profile=True)
    bob_user, bob = signed_in(app, profile=True)
    line = add(client, holder, product_id)
    alice_entry = join(client, alice, product_id).get_json()["data"]
    bob_entry = join(client, bob, product_id).get_json()["data"]
    client.delete(f"/api/v1/cart/{line['id']}", headers=holder)
    alice_hold = cart(client, alice)[0]["id"]

    expire_hold(app, alice_hold)
    with app.app_context():
        report = sweeps.expire_holds()
    assert report.expired_holds and report.promotions == 1
    assert hold_status(app, alice_hold) == "EXPIRED"
    assert client.get(f"{WAITLIST}/{alice_entry['id']}", headers=alice).get_json()["data"]["status"] == "EXPIRED"
    assert client.get(f"{WAITLIST}/{bob_entry['id']}", headers=bob).get_json()["data"]["status"] == "PROMOTED"
    assert [user for user, _ in promoted] == [str(alice_user.id), str(bob_user.id)]
    assert [item["source"] for item in cart(client, bob)] == ["WAITLIST"]


def test_leaving_after_a_promotion_passes_it_on(app, client, promoted):
    product_id = make_product(app, stock=1)
    _, holder = signed_in(app, profile=True)
    _, alice = signed_in(app, profile=True)
    bob_user, bob = signed_in(app, profile=True)
    line = add(client, holder, product_id)
    alice_entry = join(client, alice, product_id).get_json()["data"]
    join(client, bob, product_id)
    client.delete(f"/api/v1/cart/{line['id']}", headers=holder)

    assert client.delete(f"{WAITLIST}/{alice_entry['id']}", headers=alice).status_code == 204
    assert cart(client, alice) == []
    assert promoted[-1][0] == str(bob_user.id)
    assert len(cart(client, bob)) == 1


def test_a_cancelled_order_promotes_the_waitlist(app, client, promoted):
    product_id = make_product(app, stock=2)
    _, buyer = signed_in(app, profile=True)
    alice_user, alice = signed_in(app, profile=True)
    order = placed(buy(client, buyer, (product_id, 2)))
    join(client, alice, product_id, 2)
    client.post(f"{ADMIN_ORDERS}/{order['id']}/cancel", headers=signed_in(app, role="ADMIN").headers)
    assert promoted[0][0] == str(alice_user.id)
    assert [item["quantity"] for item in cart(client, alice)] == [2]
    assert product_row(app, product_id).status == "SOLD_OUT"


def test_a_hidden_product_promotes_nobody_until_it_is_shown_again(app, client, promoted):
    product_id = make_product(app, stock=1, hold_minutes=5)
    boss = signed_in(app, role="ADMIN").headers
    _, holder = signed_in(app, profile=True)
    alice_user, alice = signed_in(app, profile=True)
    placed(buy(client, holder, (product_id, 1)))
    entry = join(client, alice, product_id).get_json()["data"]
    products = f"/api/v1/products/{product_id}"
    assert client.patch(products, json={"status": "HIDDEN"}, headers=boss).status_code == 200

    # Restocked while hidden: nobody can see the product, so nobody is handed a hold on it.
    assert client.post(f"{products}/stock", json={"delta": 2}, headers=boss).status_code == 200
    assert promoted == []
    assert cart(client, alice) == []
    waiting = client.get(f"{WAITLIST}/{entry['id']}", headers=alice).get_json()["data"]
    assert (waiting["status"], waiting["position"]) == ("WAITING", 1)

    # Shown again: the first in line is served at once.
    assert client.patch(products, json={"status": "AVAILABLE"}, headers=boss).status_code == 200
    assert [user for user, _ in promoted] == [str(alice_user.id)]
    assert [(item["productId"], item["quantity"]) for item in cart(client, alice)] == [(str(product_id), 1)]
    assert client.get(f"{WAITLIST}/{entry['id']}", headers=alice).get_json()["data"]["status"] == "PROMOTED"


def test_a_restock_promotes_through_promote_waiting(app, client, promoted):
    product_id = make_product(app, stock=0)
    alice_user, alice = signed_in(app, profile=True)
    join(client, alice, product_id, 1)
    set_stock(app, product_id, 5)  # the catalogue's restock, then its call:
    with app.app_context():
        assert waitlist.promote_waiting(product_id) == 1
        assert waitlist.promote_waiting(product_id) == 0
    assert [user for user, _ in promoted] == [str(alice_user.id)]
    assert product_row(app, product_id).status == "AVAILABLE"  # 4 left on the shelf


def test_a_restock_through_the_catalogue_serves_the_queue_first(app, client, promoted):
    product_id = make_product(app, stock=0)
    alice_user, alice = signed_in(app, profile=True)
    bob_user, bob = signed_in(app, profile=True)
    join(client, alice, product_id, 2)
    join(client, bob, product_id, 2)
    response = client.post(
        f"/api/v1/products/{product_id}/stock", json={"delta": 3}, headers=signed_in(app, role="ADMIN").headers
    )
    assert response.status_code == 200, response.get_json()
    assert [user for user, _ in promoted] == [str(alice_user.id), str(bob_user.id)]
    assert [item["quantity"] for item in cart(client, alice)] == [2]
    assert [item["quantity"] for item in cart(client, bob)] == [1]
    assert product_row(app, product_id).status == "SOLD_OUT"  # the queue took all three


def test_a_variant_restock_serves_that_variants_queue(app, client, promoted):
    from tests.support.commerce import variant_ids

    product_id = make_product(app, stock=3, variants=[{"size": "S", "stock": 0}, {"size": "M", "stock": 3}])
    small, _ = variant_ids(app, product_id)
    alice_user, alice = signed_in(app, profile=True)
    body = {"productId": str(product_id), "variantId": str(small), "quantity": 1}
    assert client.post(WAITLIST, json=body, headers=alice).status_code == 201
    assert product_row(app, product_id).status == "AVAILABLE"  # the other size is on sale

    restock = {"delta": 2, "variantId": str(small)}
    response = client.post(
        f"/api/v1/products/{product_id}/stock", json=restock, headers=signed_in(app, role="ADMIN").headers
    )
    assert response.status_code == 200, response.get_json()
    assert [user for user, _ in promoted] == [str(alice_user.id)]
    assert [(item["variantId"], item["quantity"]) for item in cart(client, alice)] == [(str(small), 1)]


def test_each_variant_has_its_own_line(app, client):
    from tests.support.commerce import variant_ids

    product_id = make_product(app, stock=0, variants=[{"size": "S", "stock": 0}, {"size": "M", "stock": 0}])
    small, medium = variant_ids(app, product_id)
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    _, carol = signed_in(app, profile=True)

    def wait_for(headers, variant_id):
        body = {"productId": str(product_id), "variantId": str(variant_id), "quantity": 1}
        response = client.post(WAITLIST, json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["data"]["position"]

    assert wait_for(alice, small) == 1
    assert wait_for(bob, medium) == 1  # nobody ahead of Bob in the M line
    assert wait_for(carol, small) == 2


def test_a_hidden_product_promotes_no_one_until_it_is_shown_again(app, client, promoted):
    product_id = make_product(app, stock=1, hold_minutes=5)
    _, holder = signed_in(app, profile=True)
    alice_user, alice = signed_in(app, profile=True)
    line = add(client, holder, product_id, 1)
    entry = join(client, alice, product_id, 1).get_json()["data"]
    staff = signed_in(app, role="ADMIN").headers
    assert client.patch(f"/api/v1/products/{product_id}", json={"status": "HIDDEN"}, headers=staff).status_code == 200

    # The freed unit stays on the shelf of a product that is not on sale: nobody gets a hold of it.
    assert client.delete(f"/api/v1/cart/{line['id']}", headers=holder).status_code == 204
    assert promoted == [] and cart(client, alice) == []
    waiting = client.get(f"{WAITLIST}/{entry['id']}", headers=alice).get_json()["data"]
    assert (waiting["status"], waiting["position"]) == ("WAITING", 1)
    assert product_row(app, product_id).stock == 1

    # Shown again, the first in line is served before anyone else can take the unit.
    assert (
        client.patch(f"/api/v1/products/{product_id}", json={"status": "AVAILABLE"}, headers=staff).status_code == 200
    )
    assert [user for user, _ in promoted] == [str(alice_user.id)]
    assert [(item["source"], item["quantity"]) for item in cart(client, alice)] == [("WAITLIST", 1)]
    assert client.get(f"{WAITLIST}/{entry['id']}", headers=alice).get_json()["data"]["status"] == "PROMOTED"
