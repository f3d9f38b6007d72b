"""The stock state machine over REST — sold out at zero available, available again after
a restock, `version` up on every change — and the broadcasts each change makes, after commit only,
to the product's stream room only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dorami_api.cart.models import CartHold
from dorami_api.db.after_commit import after_commit
from dorami_api.extensions import db
from dorami_api.products import events
from dorami_api.products.models import Product
from tests.products.helpers import API


def _hold(app, user, product: dict, quantity: int, expires_in: timedelta | None = timedelta(minutes=10)) -> None:
    with app.app_context():
        expires = datetime.now(UTC) + expires_in if expires_in is not None else None
        db.session.add(
            CartHold(user_id=user.id, product_id=uuid.UUID(product["id"]), quantity=quantity, expires_at=expires)
        )
        db.session.commit()


def test_stock_state_machine(actors):
    product = actors.create_product(stock=3)
    assert (product["status"], product["version"]) == ("AVAILABLE", 1)

    down = actors.adjust(product, -3).get_json()["data"]
    assert (down["status"], down["stock"], down["available"], down["version"]) == ("SOLD_OUT", 0, 0, 2)

    below = actors.adjust(product, -1)
    assert below.status_code == 409 and below.get_json()["errorCode"] == "INSUFFICIENT_STOCK"
    assert actors.get_product(product["id"])["version"] == 2  # a refused change changes nothing

    up = actors.adjust(product, 4).get_json()["data"]
    assert (up["status"], up["stock"], up["available"], up["version"]) == ("AVAILABLE", 4, 4, 3)

    assert actors.client.patch(f"{API}/products/{product['id']}", json={"stock": 0}, headers=actors.admin).get_json()[
        "data"
    ]["status"] == ("SOLD_OUT")
    patched = actors.client.patch(f"{API}/products/{product['id']}", json={"stock": 2}, headers=actors.admin)
    assert patched.get_json()["data"]["status"] == "AVAILABLE" and patched.get_json()["data"]["version"] == 5
    renamed = actors.client.patch(f"{API}/products/{product['id']}", json={"name": "New"}, headers=actors.admin)
    assert renamed.get_json()["data"]["version"] == 6  # every change, not only stock

    zero = actors.client.post(f"{API}/products/{product['id']}/stock", json={"delta": 0}, headers=actors.admin)
    assert zero.status_code == 400


def test_available_counts_live_holds_only(app, actors):
    product = actors.create_product(stock=5)
    _hold(app, actors.user_user, product, 3)
    _hold(app, actors.user_user, product, 2, expires_in=timedelta(seconds=-1))  # expired: frees its units
    data = actors.get_product(product["id"])
    assert (data["stock"], data["available"]) == (5, 2)
    listed = actors.client.get(f"{API}/products").get_json()["data"]["items"][0]
    assert listed["available"] == 2

    # taking away the unheld units sells it out; the held ones stay for their holders
    sold = actors.adjust(product, -2).get_json()["data"]
    assert (sold["status"], sold["stock"], sold["available"]) == ("SOLD_OUT", 3, 0)


def test_sold_out_closes_the_sale_and_a_restock_reopens_it(app, actors):
    product = actors.create_product(stock=5)
    _hold(app, actors.user_user, product, 1)
    sold = actors.client.post(f"{API}/products/{product['id']}/sold-out", headers=actors.admin).get_json()["data"]
    assert (sold["status"], sold["stock"], sold["available"], sold["version"]) == ("SOLD_OUT", 1, 0, 2)
    again = actors.client.post(f"{API}/products/{product['id']}/sold-out", headers=actors.admin).get_json()["data"]
    assert again["version"] == 2  # already sold out: nothing changed
    restocked = actors.adjust(product, 3).get_json()["data"]
    assert (restocked["status"], restocked["available"]) == ("AVAILABLE", 3)

    hidden = actors.create_product(status="HIDDEN")
    assert actors.client.post(f"{API}/products/{hidden['id']}/sold-out", headers=actors.admin).status_code == 409


def test_variant_stock_adjustments(actors):
    product = actors.create_product(stock=None, variants=[{"size": "S", "price": "5", "stock": 1}])
    variant = product["variants"][0]
    assert actors.adjust(product, 1).status_code == 400  # which variant?
    assert actors.adjust(product, 1, variantId=str(uuid.uuid4())).status_code == 404
    data = actors.adjust(product, -1, variantId=variant["id"]).get_json()["data"]
    assert (data["status"], data["stock"], data["variants"][0]["stock"]) == ("SOLD_OUT", 0, 0)
    data = actors.adjust(product, 2, variantId=variant["id"]).get_json()["data"]
    assert (data["status"], data["stock"], data["variants"][0]["available"]) == ("AVAILABLE", 2, 2)


def test_hide_and_unhide(actors):
    product = actors.create_product(stock=0)
    assert product["status"] == "SOLD_OUT"
    hidden = actors.client.patch(f"{API}/products/{product['id']}", json={"status": "HIDDEN"}, headers=actors.admin)
    assert hidden.get_json()["data"]["status"] == "HIDDEN"
    # back on sale with nothing to sell: sold out at once
    shown = actors.client.patch(f"{API}/products/{product['id']}", json={"status": "AVAILABLE"}, headers=actors.admin)
    assert shown.get_json()["data"]["status"] == "SOLD_OUT"


# --- broadcasts ------------------------------------------------------------------------------


def test_each_change_is_broadcast_to_its_stream_room_as_get_returns_it(actors, emitted):
    stream = actors.create_stream()
    room = f"stream:{stream['streamKey']}"
    product = actors.create_product(streamId=stream["id"], stock=6)
    assert emitted.events() == ["live:product:added"]
    assert emitted[-1][1] == actors.get_product(product["id"]) and emitted[-1][2] == room

    emitted.clear()
    actors.adjust(product, -2)  # 4 left: updated + low stock
    assert emitted.events(room) == ["live:product:updated", "product:low-stock"]
    assert emitted.of("live:product:updated")[0][1] == actors.get_product(product["id"])
    low = emitted.of("product:low-stock")[0][1]
    assert low == {"productId": product["id"], "productName": product["name"], "available": 4}

    emitted.clear()
    actors.adjust(product, -4)
    assert emitted.events(room) == ["live:product:soldout"]
    assert emitted[0][1]["status"] == "SOLD_OUT" and emitted[0][1]["version"] == 3

    emitted.clear()
    actors.client.patch(f"{API}/products/{product['id']}", json={"price": "9.99"}, headers=actors.admin)
    assert emitted.events(room) == ["live:product:updated"] and emitted[0][1]["price"] == "9.99"

    emitted.clear()
    actors.client.post(f"{API}/products/{product['id']}/stock", json={"delta": 10}, headers=actors.admin)
    actors.client.post(f"{API}/products/{product['id']}/sold-out", headers=actors.admin)
    # The restock came within the coalescing window of the price change, so its `updated` waited;
    # the sold-out superseded it. A viewer ends on the newest state and nothing older follows.
    events.flush_pending_updates(actors.app)
    assert emitted.events(room)[-1] == "live:product:soldout"
    assert emitted[-1][1] == actors.get_product(product["id"])
    versions = [data["version"] for _event, data, _to, _ns in emitted if "version" in data]
    assert versions == sorted(versions)

    emitted.clear()
    last = actors.get_product(product["id"])
    actors.client.delete(f"{API}/products/{product['id']}", headers=actors.admin)
    assert emitted.events(room) == ["live:product:deleted"]
    assert emitted[0][1]["id"] == product["id"] and emitted[0][1]["version"] == last["version"] + 1
    assert all(to == room for _event, _data, to, _ns in emitted)


def test_visibility_decides_added_and_deleted(actors, emitted):
    one, two = actors.create_stream(), actors.create_stream()
    hidden = actors.create_product(streamId=one["id"], status="HIDDEN")
    assert emitted == []  # a hidden product is never broadcast
    actors.client.patch(f"{API}/products/{hidden['id']}", json={"description": "secret"}, headers=actors.admin)
    assert emitted == []
    actors.client.patch(f"{API}/products/{hidden['id']}", json={"status": "AVAILABLE"}, headers=actors.admin)
    assert [(e, to) for e, _d, to, _n in emitted] == [("live:product:added", f"stream:{one['streamKey']}")]

    emitted.clear()  # moving to another stream leaves one room and enters the other
    actors.client.patch(f"{API}/products/{hidden['id']}", json={"streamId": two["id"]}, headers=actors.admin)
    assert [(e, to) for e, _d, to, _n in emitted] == [
        ("live:product:deleted", f"stream:{one['streamKey']}"),
        ("live:product:added", f"stream:{two['streamKey']}"),
    ]
    emitted.clear()
    actors.client.patch(f"{API}/products/{hidden['id']}", json={"status": "HIDDEN"}, headers=actors.admin)
    assert [(e, to) for e, _d, to, _n in emitted] == [("live:product:deleted", f"stream:{two['streamKey']}")]


def test_store_products_and_refused_changes_broadcast_nothing(actors, emitted):
    product = actors.create_product()  # no stream: no room
    actors.adjust(product, -1)
    assert emitted == []
    stream = actors.create_stream()
    in_stream = actors.create_product(streamId=stream["id"], stock=1)
    emitted.clear()
    assert actors.adjust(in_stream, -5).status_code == 409
    refused = actors.client.patch(f"{API}/products/{in_stream['id']}", json={"price": "-1"}, headers=actors.admin)
    assert refused.status_code == 400
    assert emitted == []


def test_nothing_is_broadcast_for_a_rolled_back_change(app, actors, emitted):
    stream = actors.create_stream()
    product = actors.create_product(streamId=stream["id"])
    emitted.clear()
    with app.app_context():
        row = db.session.get(Product, uuid.UUID(product["id"]))
        before = events.placement_of(row)
        row.price = Decimal("1.00")
        after_commit(events.announce_product_change, row.id, before)
        db.session.rollback()
        db.session.commit()
    assert emitted == []
    assert actors.get_product(product["id"])["price"] == "29.50"


def test_a_restock_goes_to_the_waitlist_first(actors, emitted):
    product = actors.create_product(stock=0)
    joined = actors.client.post(
        f"{API}/waitlist", json={"productId": product["id"], "quantity": 2}, headers=actors.user
    )
    assert joined.status_code == 201, joined.get_json()
    restocked = actors.adjust(product, 3).get_json()["data"]
    assert (restocked["status"], restocked["stock"], restocked["available"]) == ("AVAILABLE", 3, 1)
    [entry] = actors.client.get(f"{API}/waitlist", headers=actors.user).get_json()["data"]["items"]
    assert entry["status"] == "PROMOTED"
    assert [data for event, data, _room, _ns in emitted if event == "waitlist:promoted"]


def test_a_list_shows_each_product_exactly_as_its_detail(app, actors):
    product = actors.create_product(
        stock=None,
        variants=[{"size": "S", "price": "5", "stock": 4}, {"size": "M", "price": "6", "stock": 2}],
    )
    small = product["variants"][0]
    with app.app_context():
        db.session.add(
            CartHold(
                user_id=actors.user_user.id,
                product_id=uuid.UUID(product["id"]),
                variant_id=uuid.UUID(small["id"]),
                quantity=3,
                expires_at=datetime.now(UTC) + timedelta(minutes=5),
            )
        )
        db.session.commit()
    detail = actors.get_product(product["id"])
    assert [v["available"] for v in detail["variants"]] == [1, 2] and detail["available"] == 3
    listed = actors.client.get(f"{API}/products").get_json()["data"]["items"]
    assert listed == [detail]
