"""Auctions through the HTTP face and the service, on real PostgreSQL: the admin's life cycle,
the bidding rules and refusals, proxy bids, anti-sniping and sudden death, idempotent bidIds, the
end (once, the winner's order, units back without bids) and the reads."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dorami_api.auctions import ending
from dorami_api.auctions.models import Auction
from dorami_api.errors import ApiError
from dorami_api.extensions import db
from dorami_api.jobs import runner
from dorami_api.orders.models import OrderItem
from dorami_api.users.models import User
from tests.auctions.helpers import (
    AUCTIONS,
    accepted,
    bid,
    create_auction,
    history,
    make_due,
    orders_of_auction,
    refused,
    row,
    set_ends_in,
    start,
    stock_of,
)
from tests.support.auth import signed_in
from tests.support.commerce import live_stream, make_product


@pytest.fixture
def shop(app):
    stream_id, stream_key = live_stream(app)
    product_id = make_product(app, stock=5, stream_id=stream_id, price="50.00")
    return {
        "stream_id": stream_id,
        "stream_key": stream_key,
        "product_id": product_id,
        "admin": signed_in(app, role="ADMIN").headers,
    }


def _running(client, shop, **fields) -> dict:
    auction = create_auction(client, shop["admin"], shop["product_id"], **fields)
    return start(client, shop["admin"], auction["id"])


def test_an_admin_creates_starts_and_the_units_leave_stock(app, client, shop):
    auction = create_auction(client, shop["admin"], shop["product_id"], quantity=2)
    assert auction["status"] == "SCHEDULED" and auction["endsAt"] is None
    assert stock_of(app, shop["product_id"]) == 3
    product = client.get(f"/api/v1/products/{shop['product_id']}").get_json()["data"]
    assert product["available"] == 3
    running = start(client, shop["admin"], auction["id"])
    assert running["status"] == "RUNNING" and running["minimumBid"] == "10.00"
    assert running["endsAt"] > running["serverTime"]
    assert client.post(f"{AUCTIONS}/{auction['id']}/start", headers=shop["admin"]).status_code == 409


def test_only_admins_run_auctions(app, client, shop):
    _, buyer = signed_in(app, profile=True)
    body = {"productId": str(shop["product_id"]), "startingPrice": "1.00", "durationSeconds": 30}
    assert client.post(AUCTIONS, json=body, headers=buyer).status_code == 403
    assert client.post(AUCTIONS, json=body).status_code == 401


def test_invalid_auctions_are_refused(app, client, shop):
    base = {"productId": str(shop["product_id"]), "startingPrice": "1.00"}
    for extra in ({"durationSeconds": 4}, {"durationSeconds": 601}, {"durationSeconds": 30, "increment": "0"}):
        response = client.post(AUCTIONS, json={**base, **extra}, headers=shop["admin"])
        assert response.status_code == 400, extra
    store_product = make_product(app, stock=1)
    body = {"productId": str(store_product), "startingPrice": "1", "durationSeconds": 30}
    response = client.post(AUCTIONS, json=body, headers=shop["admin"])
    refused(response, 409, "AUCTION_NEEDS_STREAM")
    refused(create_and_expect(client, shop, quantity=6), 409, "INSUFFICIENT_STOCK")


def create_and_expect(client, shop, **fields):
    body = {"productId": str(shop["product_id"]), "startingPrice": "1.00", "durationSeconds": 30, **fields}
    return client.post(AUCTIONS, json=body, headers=shop["admin"])


def test_bids_must_rise_by_the_increment_and_the_leader_cannot_bid_again(app, client, shop):
    auction = _running(client, shop, increment="2.50")
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    refused(bid(client, alice, auction["id"], "9.99"), 409, "BID_TOO_LOW")
    first = accepted(bid(client, alice, auction["id"], "10.00"))
    assert first["leading"] is True and first["currentPrice"] == "10.00"
    refused(bid(client, alice, auction["id"], "20.00"), 409, "ALREADY_LEADING")
    low = refused(bid(client, bob, auction["id"], "12.49"), 409, "BID_TOO_LOW")
    assert low["details"]["minimumBid"] == "12.50"
    assert accepted(bid(client, bob, auction["id"], "12.50"))["currentPrice"] == "12.50"
    assert [b.amount for b in history(app, auction["id"])] == [Decimal("10.00"), Decimal("12.50")]


def test_no_bid_before_the_start_or_after_the_end(app, client, shop):
    auction = create_auction(client, shop["admin"], shop["product_id"])
    _, alice = signed_in(app, profile=True)
    refused(bid(client, alice, auction["id"], "10.00"), 409, "AUCTION_NOT_RUNNING")
    start(client, shop["admin"], auction["id"])
    make_due(app, auction["id"])
    # Past its end but not yet ended by any driver: refused all the same.
    refused(bid(client, alice, auction["id"], "10.00"), 409, "AUCTION_NOT_RUNNING")


def test_who_may_bid(app, client, shop):
    auction = _running(client, shop)
    _, incomplete = signed_in(app)
    refused(bid(client, incomplete, auction["id"], "10.00"), 403, "PROFILE_INCOMPLETE")
    suspended, headers = signed_in(app, profile=True)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == suspended.id).values(status="SUSPENDED"))
        db.session.commit()
    assert bid(client, headers, auction["id"], "10.00").status_code in (401, 403)
    with app.app_context():
        from dorami_api.auctions import service

        with pytest.raises(Exception) as refused_error:
            service.place_bid(service.Bid(uuid_of(auction), suspended.id, Decimal("10.00"), "x"))
        assert refused_error.value.code == "ACCOUNT_SUSPENDED"
    assert client.post(f"{AUCTIONS}/{auction['id']}/bids", json={"amount": "10", "bidId": "a"}).status_code == 401


def uuid_of(auction):
    import uuid

    return uuid.UUID(auction["id"])


def test_the_same_bid_id_gets_the_same_answer(app, client, shop):
    auction = _running(client, shop)
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    first = accepted(bid(client, alice, auction["id"], "10.00", "alice-1"))
    accepted(bid(client, bob, auction["id"], "11.00", "bob-1"))
    again = accepted(bid(client, alice, auction["id"], "10.00", "alice-1"))
    assert {k: v for k, v in again.items() if k != "serverTime"} == {
        k: v for k, v in first.items() if k != "serverTime"
    }
    refused(bid(client, alice, auction["id"], "5.00", "alice-low"), 409, "BID_TOO_LOW")
    accepted(bid(client, alice, auction["id"], "20.00", "alice-2"))
    # Alice leads now, yet the retry hears the first answer, not ALREADY_LEADING.
    refused(bid(client, alice, auction["id"], "5.00", "alice-low"), 409, "BID_TOO_LOW")
    assert len(history(app, auction["id"])) == 3


def test_concurrent_retries_of_one_bid_id_are_one_bid(app, client, shop):
    auction = _running(client, shop)
    _, alice = signed_in(app, profile=True)
    answers, errors = [], []

    def retry():
        try:
            with app.test_client() as own:
                answers.append(bid(own, alice, auction["id"], "10.00", "same"))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert {response.status_code for response in answers} == {200}
    assert len({response.get_json()["data"]["version"] for response in answers}) == 1
    assert len(history(app, auction["id"])) == 1


def test_bidders_at_the_same_moment_in_one_process_each_get_their_own_answer(app, client, shop):
    """Bids arriving together in one process are decided together (one transaction); each
    bidder still hears its own answer, a suspended bidder among them is refused alone, and every
    retry, in the same moment or later, hears the first answer."""
    auction = _running(client, shop)
    people = [signed_in(app, profile=True) for _ in range(12)]
    suspended, suspended_headers = signed_in(app, profile=True)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == suspended.id).values(status="SUSPENDED"))
        db.session.commit()
    barrier = threading.Barrier(len(people) * 2 + 1)
    answers, errors = {}, []

    def place(index, headers, bid_id, amount):
        try:
            with app.test_client() as own:
                barrier.wait(timeout=30)
                answers[(index, bid_id, threading.get_ident())] = bid(own, headers, auction["id"], amount, bid_id)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=place, args=(i, headers, f"b{i}", f"{10 + i}.00"))
        for i, (_, headers) in enumerate(people)
        for _ in range(2)  # each bid twice at once: the same bidId, one bid
    ]
    threads.append(threading.Thread(target=place, args=(-1, suspended_headers, "s", "99.00")))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    by_bid: dict[str, set] = {}
    for (index, bid_id, _), response in answers.items():
        body = response.get_json()
        if index == -1:
            assert response.status_code in (401, 403), body
            continue
        assert response.status_code in (200, 409), body
        by_bid.setdefault(bid_id, set()).add(_heard(response))
    assert all(len(seen) == 1 for seen in by_bid.values()), by_bid
    rows = history(app, auction["id"])
    amounts = [row.amount for row in rows]
    assert rows and all(a < b for a, b in zip(amounts, amounts[1:], strict=False))
    assert suspended.id not in {row.bidder_id for row in rows}
    for i, (_, headers) in enumerate(people):  # later retries: the same answers
        assert by_bid[f"b{i}"] == {_heard(bid(client, headers, auction["id"], f"{10 + i}.00", f"b{i}"))}


def _heard(response) -> str:
    """What a bidder heard, comparable across retries: the answer without its serverTime, or the code."""
    body = response.get_json()
    if response.status_code != 200:
        return body["errorCode"]
    return str({k: v for k, v in body["data"].items() if k != "serverTime"})


def test_a_bid_that_fails_its_batch_fails_alone(app, client, shop):
    """A batch whose transaction PostgreSQL refuses because of one bid (here a bidId too long for
    its column, which the API's validation never lets through) is decided again bid by bid: the
    others are answered as usual, only that bid gets the error, and nothing of it is stored."""
    from dorami_api.auctions import service

    auction = _running(client, shop)
    people = [signed_in(app, profile=True).user for _ in range(3)]
    with app.app_context():
        auction_id = uuid_of(auction)
        bids = [
            service.Bid(auction_id, people[0].id, Decimal("10.00"), "first"),
            service.Bid(auction_id, people[1].id, Decimal("30.00"), "x" * 65),
            service.Bid(auction_id, people[2].id, Decimal("11.00"), "third"),
        ]
        first, poisoned, third = service.decide_bids(bids)
        assert first["accepted"] is True and first["amount"] == "10.00"
        assert isinstance(poisoned, Exception) and not isinstance(poisoned, ApiError)
        assert third["accepted"] is True and third["amount"] == "11.00"
        db.session.remove()
    assert [row.amount for row in history(app, auction["id"])] == [Decimal("10.00"), Decimal("11.00")]
    _, later = signed_in(app, profile=True)
    accepted(bid(client, later, auction["id"], "12.00"))


def test_proxy_bids_answer_by_the_increment(app, client, shop):
    auction = _running(client, shop)
    _, alice = signed_in(app, profile=True, name="Alice")
    _, bob = signed_in(app, profile=True, name="Bob")
    accepted(bid(client, alice, auction["id"], "10.00", maxAmount="30.00"))
    answered = accepted(bid(client, bob, auction["id"], "15.00"))
    assert answered["leading"] is False and answered["currentPrice"] == "16.00"
    # Bob's ceiling beats Alice's: Alice's proxy stands at 30, Bob leads at 31.
    over = accepted(bid(client, bob, auction["id"], "17.00", maxAmount="40.00"))
    assert over["leading"] is True and over["currentPrice"] == "31.00"
    amounts = [b.amount for b in history(app, auction["id"])]
    assert amounts == sorted(set(amounts)) and amounts[-1] == Decimal("31.00")
    detail = client.get(f"{AUCTIONS}/{auction['id']}").get_json()["data"]
    assert detail["leader"] == {"displayName": "Bob"} and detail["currentPrice"] == "31.00"


def test_a_late_bid_moves_the_end_in_standard_mode(app, client, shop):
    auction = _running(client, shop, antiSnipeSeconds=10)
    _, alice = signed_in(app, profile=True)
    set_ends_in(app, auction["id"], 1)
    before = row(app, auction["id"]).ends_at
    answer = accepted(bid(client, alice, auction["id"], "10.00"))
    after = row(app, auction["id"]).ends_at
    # Moved to about now + 10 s: at least 8 s later than the 1 s it had left.
    assert (after - before).total_seconds() > 8
    assert answer["endsAt"] == after.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_sudden_death_never_extends(app, client, shop):
    auction = _running(client, shop, mode="SUDDEN_DEATH", antiSnipeSeconds=10)
    _, alice = signed_in(app, profile=True)
    set_ends_in(app, auction["id"], 1)
    before = row(app, auction["id"]).ends_at
    accepted(bid(client, alice, auction["id"], "10.00"))
    assert row(app, auction["id"]).ends_at == before


def test_the_end_makes_one_order_for_the_winner_at_the_final_price(app, client, shop):
    auction = _running(client, shop, quantity=2)
    winner, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    accepted(bid(client, alice, auction["id"], "10.00"))
    accepted(bid(client, bob, auction["id"], "11.00"))
    accepted(bid(client, alice, auction["id"], "12.00"))
    make_due(app, auction["id"])
    with app.app_context():
        results = []
        barrier = threading.Barrier(4)

        def drive():
            with app.app_context():
                barrier.wait()
                results.append(ending.end(uuid_of(auction)))
                db.session.remove()

        threads = [threading.Thread(target=drive) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(results) == [False, False, False, True]
        ending.settle(uuid_of(auction))
        ending.settle(uuid_of(auction))
        assert ending.settle_pending() == []
    ended = row(app, auction["id"])
    assert ended.status == "ENDED" and ended.winner_id == winner.id and ended.final_price == Decimal("12.00")
    orders = orders_of_auction(app, auction["id"])
    assert len(orders) == 1 and orders[0].id == ended.order_id
    assert orders[0].status == "PENDING_PAYMENT" and orders[0].user_id == winner.id
    assert orders[0].subtotal == Decimal("24.00")
    with app.app_context():
        item = db.session.scalars(sa.select(OrderItem).where(OrderItem.order_id == ended.order_id)).one()
        assert (item.quantity, item.unit_price) == (2, Decimal("12.00"))
    # The units were sold to the winner: stock stays down; the winner sees the order.
    assert stock_of(app, shop["product_id"]) == 3
    mine = client.get(f"/api/v1/orders/{ended.order_id}", headers=alice)
    assert mine.status_code == 200 and mine.get_json()["data"]["status"] == "PENDING_PAYMENT"
    detail = client.get(f"{AUCTIONS}/{auction['id']}").get_json()["data"]
    assert detail["status"] == "ENDED" and detail["finalPrice"] == "12.00"


def test_an_end_without_bids_returns_the_units(app, client, shop):
    auction = _running(client, shop, quantity=2)
    assert stock_of(app, shop["product_id"]) == 3
    make_due(app, auction["id"])
    assert runner.end_auctions_once(app) == [uuid_of(auction)]
    assert runner.end_auctions_once(app) == []
    assert stock_of(app, shop["product_id"]) == 5
    assert orders_of_auction(app, auction["id"]) == []
    assert row(app, auction["id"]).settled_at is not None


def test_a_cancel_returns_the_units_and_voids_the_bids(app, client, shop):
    auction = _running(client, shop)
    _, alice = signed_in(app, profile=True)
    accepted(bid(client, alice, auction["id"], "10.00"))
    response = client.post(f"{AUCTIONS}/{auction['id']}/cancel", headers=shop["admin"])
    assert response.status_code == 200 and response.get_json()["data"]["status"] == "CANCELLED"
    assert stock_of(app, shop["product_id"]) == 5
    refused(bid(client, alice, auction["id"], "20.00"), 409, "AUCTION_NOT_RUNNING")
    assert client.post(f"{AUCTIONS}/{auction['id']}/cancel", headers=shop["admin"]).status_code == 409
    make_due(app, auction["id"])
    assert runner.end_auctions_once(app) == []


def test_a_process_dying_between_the_end_and_the_order_is_repaired_by_the_sweep(app, client, shop):
    auction = _running(client, shop)
    winner, alice = signed_in(app, profile=True)
    accepted(bid(client, alice, auction["id"], "10.00"))
    make_due(app, auction["id"])
    with app.app_context():
        assert ending.end(uuid_of(auction)) is True  # ... and the process dies here
        db.session.remove()
    assert row(app, auction["id"]).order_id is None
    report = runner.run_once(app)
    assert report.settled_auctions == [uuid_of(auction)]
    assert len(orders_of_auction(app, auction["id"])) == 1
    assert runner.run_once(app).settled_auctions == []


def test_reads_show_display_names_never_ids_or_emails(app, client, shop):
    auction = _running(client, shop)
    alice, alice_headers = signed_in(app, profile=True, name="Alice Park", instagram_id="alice.p")
    bob, bob_headers = signed_in(app, profile=True, name="Bob Lee")
    accepted(bid(client, alice_headers, auction["id"], "10.00"))
    accepted(bid(client, bob_headers, auction["id"], "11.00"))
    detail = client.get(f"{AUCTIONS}/{auction['id']}")
    assert detail.status_code == 200
    text = detail.get_data(as_text=True)
    for secret in (str(alice.id), str(bob.id), alice.email, bob.email):
        assert secret not in text
    data = detail.get_json()["data"]
    assert [(b["displayName"], b["amount"]) for b in data["bids"]] == [("Bob", "11.00"), ("alice.p", "10.00")]
    listed = client.get(f"/api/v1/streaming/streams/{shop['stream_id']}/auctions").get_json()["data"]
    assert [item["id"] for item in listed] == [auction["id"]]
    assert client.get(f"{AUCTIONS}/00000000-0000-0000-0000-000000000000").status_code == 404
    refused(bid(client, alice_headers, "00000000-0000-0000-0000-000000000000", "1.00"), 404, "AUCTION_NOT_FOUND")


def test_the_openapi_document_lists_the_auction_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/auctions/{auction_id}/bids" in paths
    assert "/api/v1/streaming/streams/{stream_id}/auctions" in paths


def test_bids_are_rate_limited_per_user(make_app, shop_for_limits):
    app, auction_id, headers = shop_for_limits
    client = app.test_client()
    codes = [bid(client, headers, auction_id, "1.00").status_code for _ in range(101)]
    assert codes[:100].count(429) == 0 and codes[100] == 429


@pytest.fixture
def shop_for_limits(make_app):
    app = make_app(RATELIMIT_ENABLED="true", RATELIMIT_DEFAULT="1000/second")
    client = app.test_client()
    stream_id, _ = live_stream(app)
    product_id = make_product(app, stock=1, stream_id=stream_id)
    auction = create_auction(client, signed_in(app, role="ADMIN").headers, product_id)
    start(client, signed_in(app, role="ADMIN").headers, auction["id"])
    _, headers = signed_in(app, profile=True)
    return app, auction["id"], headers


def test_auction_rows_are_consistent_with_the_history(app, client, shop):
    auction = _running(client, shop)
    _, alice = signed_in(app, profile=True)
    _, bob = signed_in(app, profile=True)
    accepted(bid(client, alice, auction["id"], "10.00"))
    accepted(bid(client, bob, auction["id"], "11.00"))
    with app.app_context():
        state = db.session.get(Auction, uuid_of(auction))
        assert state.bid_count == 2 and state.current_price == Decimal("11.00")
