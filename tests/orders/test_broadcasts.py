"""What orders tell the world, recorded at broadcast.py — the one module that knows
event names and rooms: social proof without personal data, the full order to admins, status
changes to the buyer, product stock changes — and nothing for a change that rolled back."""

from __future__ import annotations

import time

import pytest

from dorami_api.realtime import broadcast
from tests.orders.helpers import ADMIN_ORDERS, ORDERS, buy, placed
from tests.support.auth import signed_in
from tests.support.commerce import live_stream, make_product


@pytest.fixture
def sent(monkeypatch):
    events = []

    def record(name):
        return lambda *args: events.append((name, *args))

    for name in ("purchase_notification", "order_new", "order_updated", "product_updated", "product_soldout"):
        monkeypatch.setattr(broadcast, name, record(name))
    return events


def _named(sent, name):
    return [event[1:] for event in sent if event[0] == name]


def test_a_new_order_is_social_proof_for_viewers_and_news_for_admins(app, client, sent):
    stream_id, stream_key = live_stream(app)
    product_id = make_product(app, stock=2, stream_id=stream_id, name="Pearl earrings")
    _, alice = signed_in(app, profile=True, name="Alice Park", email="alice@dorami.test")
    _, bob = signed_in(app, profile=True, name="Bob", instagram_id="@bob.live")

    order = placed(buy(client, alice, (product_id, 1)))
    assert _named(sent, "purchase_notification") == [(stream_key, "Alice", "Pearl earrings")]
    (admin_view,) = _named(sent, "order_new")
    assert admin_view[0]["id"] == order["id"] and admin_view[0]["userEmail"] == "alice@dorami.test"
    assert _named(sent, "product_updated")[0][0] == stream_key
    assert _named(sent, "product_updated")[0][1]["available"] == 1

    placed(buy(client, bob, (product_id, 1)))
    assert _named(sent, "purchase_notification")[-1] == (stream_key, "@bob.live", "Pearl earrings")
    assert len(_named(sent, "product_soldout")) == 1

    sent.clear()
    refused = buy(client, bob, (product_id, 1))
    assert refused.status_code == 409
    assert sent == []  # nothing happened, nothing is said


def test_status_changes_go_to_the_buyers_own_room(app, client, sent):
    product_id = make_product(app, stock=5)
    alice_user, alice = signed_in(app, profile=True)
    boss = signed_in(app, role="ADMIN").headers
    order = placed(buy(client, alice, (product_id, 1)))
    client.post(f"{ADMIN_ORDERS}/{order['id']}/confirm-payment", headers=boss)
    client.post(f"{ADMIN_ORDERS}/{order['id']}/ship", json={"trackingNumber": "TRACK-1"}, headers=boss)
    updates = _named(sent, "order_updated")
    assert [(user, data["status"]) for user, data in updates] == [
        (str(alice_user.id), "PAID"),
        (str(alice_user.id), "SHIPPED"),
    ]

    second = placed(buy(client, alice, (product_id, 1)))
    client.post(f"{ORDERS}/{second['id']}/cancel", headers=alice)
    assert _named(sent, "order_updated")[-1][1]["status"] == "CANCELLED"
    assert client.post(f"{ADMIN_ORDERS}/{order['id']}/deliver", headers=boss).status_code == 200
    count = len(_named(sent, "order_updated"))
    assert client.post(f"{ADMIN_ORDERS}/{order['id']}/deliver", headers=boss).status_code == 409
    assert len(_named(sent, "order_updated")) == count  # a refused transition says nothing


def test_a_run_of_orders_tells_viewers_of_each_sale_and_ends_on_sold_out(app, client, sent):
    stream_id, stream_key = live_stream(app)
    product_id = make_product(app, stock=5, stream_id=stream_id, name="Pearl earrings")
    buyers = [signed_in(app, profile=True, name=f"Buyer{i}").headers for i in range(5)]
    for headers in buyers:
        placed(buy(client, headers, (product_id, 1)))

    # One social-proof notice per order, in order: the first three at once, the rest
    # paced a couple per second ...
    assert _named(sent, "purchase_notification") == [(stream_key, f"Buyer{i}", "Pearl earrings") for i in range(3)]
    deadline = time.monotonic() + 10
    while len(_named(sent, "purchase_notification")) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _named(sent, "purchase_notification") == [(stream_key, f"Buyer{i}", "Pearl earrings") for i in range(5)]
    # ... while the product's state is coalesced: it ends on sold-out, sent at once, and no
    # update older than one already sent follows.
    products = [(name, event[1]) for name, *event in sent if name in ("product_updated", "product_soldout")]
    assert products[-1][0] == "product_soldout" and products[-1][1]["available"] == 0
    assert products[0] == ("product_updated", _named(sent, "product_updated")[0][1])
    versions = [data["version"] for _name, data in products]
    assert versions == sorted(set(versions))
