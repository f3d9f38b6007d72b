"""No account can hold stock for ever: a line's timer restarts only when its
quantity grows, a line never lives past 2 × holdMinutes after its first hold, and the product's
maxPerBuyer caps what one user holds and buys in all (409 BUYER_LIMIT_REACHED)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.db.types import utcnow
from dorami_api.extensions import db
from tests.orders.helpers import ADMIN_ORDERS, CART, ORDERS, add, buy, placed
from tests.support.auth import signed_in
from tests.support.commerce import make_product

PRODUCTS = "/api/v1/products"
WAITLIST = "/api/v1/waitlist"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _first_held(app, hold_id: str, minutes_ago: float, expires_in: float) -> datetime:
    """Time passes for one line: its first hold was `minutes_ago`, and it expires `expires_in`
    minutes from now. Returns the moment of its first hold."""
    # One "now" for both moments: with two readings of the clock, a slow machine put the expiry a
    # millisecond or more past first + 2 × holdMinutes, and the cap then kept that later expiry.
    now = utcnow()
    first = now - timedelta(minutes=minutes_ago)
    with app.app_context():
        db.session.execute(
            sa.update(CartHold)
            .where(CartHold.id == uuid.UUID(hold_id))
            .values(created_at=first, expires_at=now + timedelta(minutes=expires_in))
        )
        db.session.commit()
    return first


def _same_moment(shown: str, expected: datetime) -> bool:
    """The API shows times to the millisecond."""
    return abs(_at(shown) - expected) <= timedelta(milliseconds=1)


def _expires(client, headers) -> dict[str, datetime]:
    items = client.get(CART, headers=headers).get_json()["data"]["items"]
    return {item["id"]: _at(item["expiresAt"]) for item in items}


def _patch(client, headers, line_id: str, quantity: int):
    return client.patch(f"{CART}/{line_id}", json={"quantity": quantity}, headers=headers)


def _refused_by_cap(response) -> dict:
    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert body["errorCode"] == "BUYER_LIMIT_REACHED"
    return body["details"]


def test_touching_a_line_does_not_restart_its_timer(app, client):
    product_id = make_product(app, stock=10, hold_minutes=10)
    _, alice = signed_in(app, profile=True)
    line = add(client, alice, product_id, 3)
    _first_held(app, line["id"], minutes_ago=9, expires_in=1)
    before = _expires(client, alice)[line["id"]]

    for quantity in (3, 3, 2):  # the same quantity, again, then fewer
        response = _patch(client, alice, line["id"], quantity)
        assert response.status_code == 200, response.get_json()
        assert _at(response.get_json()["data"]["expiresAt"]) == before
    assert _expires(client, alice)[line["id"]] == before

    grown = _patch(client, alice, line["id"], 4).get_json()["data"]
    assert _at(grown["expiresAt"]) > datetime.now(UTC) + timedelta(minutes=9)


def test_a_line_lives_at_most_twice_hold_minutes_after_its_first_hold(app, client):
    product_id = make_product(app, stock=20, hold_minutes=10)
    _, bob = signed_in(app, profile=True)
    line = add(client, bob, product_id, 1)

    first = _first_held(app, line["id"], minutes_ago=15, expires_in=1)
    grown = _patch(client, bob, line["id"], 2).get_json()["data"]
    assert _same_moment(grown["expiresAt"], first + timedelta(minutes=20))  # not now + 10 minutes

    first = _first_held(app, line["id"], minutes_ago=19.5, expires_in=0.5)
    merged = add(client, bob, product_id, 1)
    assert merged["id"] == line["id"] and merged["quantity"] == 3
    assert _same_moment(merged["expiresAt"], first + timedelta(minutes=20))


def test_max_per_buyer_caps_holds_and_purchases(app, client):
    boss = signed_in(app, role="ADMIN").headers
    created = client.post(
        PRODUCTS, json={"name": "Limited tote", "price": "20.00", "stock": 10, "maxPerBuyer": 2}, headers=boss
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["data"]["maxPerBuyer"] == 2
    product_id = created.get_json()["data"]["id"]
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)

    line = add(client, alice, product_id, 2)
    details = _refused_by_cap(client.post(CART, json={"productId": product_id, "quantity": 1}, headers=alice))
    assert (details["maxPerBuyer"], details["alreadyHeldOrBought"]) == (2, 2)
    _refused_by_cap(_patch(client, alice, line["id"], 3))
    _refused_by_cap(buy(client, alice, (product_id, 1)))
    placed(buy(client, bob, (product_id, 2)))  # another buyer has a cap of their own

    order = placed(client.post(ORDERS, headers=alice))
    _refused_by_cap(buy(client, alice, (product_id, 1)))  # bought counts like held
    assert client.post(f"{ORDERS}/{order['id']}/cancel", headers=alice).status_code == 200
    placed(buy(client, alice, (product_id, 1)))  # a cancelled order no longer counts

    # A paid order still counts; a cap lowered under what is held refuses the checkout.
    bob_order = client.get(ORDERS, headers=bob).get_json()["data"]["items"][0]["id"]
    assert client.post(f"{ADMIN_ORDERS}/{bob_order}/confirm-payment", headers=boss).status_code == 200
    _refused_by_cap(buy(client, bob, (product_id, 1)))
    add(client, alice, product_id, 1)
    lowered = client.patch(f"{PRODUCTS}/{product_id}", json={"maxPerBuyer": 1}, headers=boss)
    assert lowered.status_code == 200 and lowered.get_json()["data"]["maxPerBuyer"] == 1
    _refused_by_cap(client.post(ORDERS, headers=alice))

    cleared = client.patch(f"{PRODUCTS}/{product_id}", json={"maxPerBuyer": None}, headers=boss)
    assert cleared.status_code == 200 and cleared.get_json()["data"]["maxPerBuyer"] is None
    placed(client.post(ORDERS, headers=alice))
    placed(buy(client, bob, (product_id, 3)))


def test_a_promotion_past_the_cap_passes_to_the_next_in_line(app, client):
    boss = signed_in(app, role="ADMIN").headers
    created = client.post(PRODUCTS, json={"name": "Vase", "price": "5.00", "stock": 2, "maxPerBuyer": 2}, headers=boss)
    product_id = created.get_json()["data"]["id"]
    _, carol = signed_in(app, profile=True)
    _, dan = signed_in(app, profile=True)
    placed(buy(client, carol, (product_id, 2)))
    for headers in (carol, dan):
        joined = client.post(WAITLIST, json={"productId": product_id, "quantity": 1}, headers=headers)
        assert joined.status_code == 201, joined.get_json()

    restocked = client.post(f"{PRODUCTS}/{product_id}/stock", json={"delta": 1}, headers=boss)
    assert restocked.status_code == 200, restocked.get_json()

    carol_entries = client.get(WAITLIST, headers=carol).get_json()["data"]["items"]
    assert [(e["status"], e["position"]) for e in carol_entries] == [("WAITING", 1)]
    dan_entries = client.get(WAITLIST, headers=dan).get_json()["data"]["items"]
    assert [e["status"] for e in dan_entries] == ["PROMOTED"]
    dan_cart = client.get(CART, headers=dan).get_json()["data"]["items"]
    assert [(item["source"], item["quantity"]) for item in dan_cart] == [("WAITLIST", 1)]
    assert client.get(CART, headers=carol).get_json()["data"]["items"] == []


def test_max_per_buyer_is_validated_and_documented(app, client):
    boss = signed_in(app, role="ADMIN").headers
    for bad in (0, -1, 1.5, 1_000_001):
        body = {"name": "Cup", "price": "1.00", "stock": 1, "maxPerBuyer": bad}
        response = client.post(PRODUCTS, json=body, headers=boss)
        assert response.status_code == 400, (bad, response.get_json())
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    assert "maxPerBuyer" in schemas["ProductOut"]["properties"]
    assert "maxPerBuyer" in schemas["ProductCreate"]["properties"]
    assert "maxPerBuyer" in schemas["ProductUpdate"]["properties"]
