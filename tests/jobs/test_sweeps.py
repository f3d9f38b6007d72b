"""Background jobs: expired holds, stale promotions, unpaid orders — each unit of work
done once, even when two sweepers run at the same moment."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.db.types import utcnow
from dorami_api.extensions import db
from dorami_api.jobs import runner, sweeps
from dorami_api.orders.models import Order
from dorami_api.realtime import broadcast
from dorami_api.streaming.models import LiveStream
from dorami_api.waitlist.models import WaitlistEntry
from tests.orders.helpers import add, buy, placed
from tests.support.auth import signed_in
from tests.support.commerce import expire_hold, hold_status, live_stream, make_product, product_row


@pytest.fixture
def sent(monkeypatch):
    """The user-room broadcasts of the jobs, as (event, user id, data)."""
    events = []
    monkeypatch.setattr(broadcast, "cart_expired", lambda user, data: events.append(("cart:expired", user, data)))
    monkeypatch.setattr(
        broadcast, "waitlist_promoted", lambda user, data: events.append(("waitlist:promoted", user, data))
    )
    monkeypatch.setattr(broadcast, "product_updated", lambda key, data: events.append(("product:updated", key, data)))
    return events


def _at_once(count: int, work):
    """Run work() in `count` threads released together; return their results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        barrier.wait()
        results[index] = work()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _sold_out_with_a_queue(app, client):
    """Two holders took everything; one user waits. Both holds then expire."""
    stream_id, stream_key = live_stream(app)
    product_id = make_product(app, stock=3, stream_id=stream_id)
    alice_user, alice = signed_in(app, profile=True)
    bob_user, bob = signed_in(app, profile=True)
    waiting_user, waiting = signed_in(app, profile=True)
    holds = [add(client, alice, product_id, 2)["id"], add(client, bob, product_id, 1)["id"]]
    assert client.post("/api/v1/waitlist", json={"productId": str(product_id)}, headers=waiting).status_code == 201
    for hold_id in holds:
        expire_hold(app, hold_id)
    return product_id, stream_key, holds, (alice_user, bob_user, waiting_user)


def test_expired_holds_are_swept_owners_told_and_the_queue_served(app, client, sent):
    product_id, stream_key, holds, (alice, bob, waiting) = _sold_out_with_a_queue(app, client)
    assert product_row(app, product_id).status == "SOLD_OUT"

    with app.app_context():
        report = sweeps.expire_holds()
    assert sorted(map(str, report.expired_holds)) == sorted(holds) and report.promotions == 1
    assert [hold_status(app, hold_id) for hold_id in holds] == ["EXPIRED", "EXPIRED"]
    expired = sorted((user, data["cartItemId"]) for event, user, data in sent if event == "cart:expired")
    assert expired == sorted([(str(alice.id), holds[0]), (str(bob.id), holds[1])])
    assert [user for event, user, _ in sent if event == "waitlist:promoted"] == [str(waiting.id)]
    # 3 units freed, 1 promoted to the queue, 2 back on the shelf — and announced.
    assert product_row(app, product_id).status == "AVAILABLE"
    updates = [data for event, key, data in sent if event == "product:updated"]
    assert updates and updates[-1]["available"] == 2 and updates[-1]["streamKey"] == stream_key

    with app.app_context():
        assert sweeps.expire_holds().empty  # nothing twice


@pytest.mark.parametrize("through_the_runner", [True, False], ids=["runner", "sweep-without-leader-lock"])
def test_two_sweepers_at_once_do_the_work_once(app, client, sent, through_the_runner):
    product_id, _, holds, _ = _sold_out_with_a_queue(app, client)

    def sweep():
        if through_the_runner:
            return runner.run_once(app)
        with app.app_context():
            try:
                return sweeps.expire_holds()
            finally:
                db.session.remove()

    reports = [report for report in _at_once(2, sweep) if report is not None]
    expired = [hold_id for report in reports for hold_id in report.expired_holds]
    assert sorted(map(str, expired)) == sorted(holds)
    assert sum(report.promotions for report in reports) == 1
    assert len([event for event in sent if event[0] == "cart:expired"]) == 2
    assert len([event for event in sent if event[0] == "waitlist:promoted"]) == 1
    with app.app_context():
        promotion_holds = db.session.scalar(
            sa.select(sa.func.count()).select_from(CartHold).where(CartHold.source == "WAITLIST")
        )
    assert promotion_holds == 1


def test_only_one_process_holds_the_leader_lock(app):
    with app.app_context(), runner.leader_lock() as first:
        assert first is True
        other = _at_once(1, lambda: _try_lock(app))[0]
        assert other is False
    assert _try_lock(app) is True


def _try_lock(app) -> bool:
    with app.app_context(), runner.leader_lock() as acquired:
        return acquired


def test_stale_promotions_are_closed_and_passed_on(app, client, sent):
    product_id = make_product(app, stock=1)
    _, holder = signed_in(app, profile=True)
    alice_user, alice = signed_in(app, profile=True)
    bob_user, bob = signed_in(app, profile=True)
    line = add(client, holder, product_id)
    client.post("/api/v1/waitlist", json={"productId": str(product_id)}, headers=alice)
    client.post("/api/v1/waitlist", json={"productId": str(product_id)}, headers=bob)
    client.delete(f"/api/v1/cart/{line['id']}", headers=holder)
    with app.app_context():  # Alice's hold ends behind the waitlist's back (e.g. a manual fix)
        db.session.execute(sa.update(CartHold).where(CartHold.user_id == alice_user.id).values(status="RELEASED"))
        db.session.commit()
        report = sweeps.close_stale_promotions()
        assert (report.closed_promotions, report.promotions) == (1, 1)
        statuses = dict(db.session.execute(sa.select(WaitlistEntry.user_id, WaitlistEntry.status)).all())
        assert statuses == {alice_user.id: "CANCELLED", bob_user.id: "PROMOTED"}
        assert sweeps.close_stale_promotions().empty


def test_unpaid_orders_expire_after_the_configured_timeout(make_app):
    app = make_app(ORDER_PAYMENT_TIMEOUT_MINUTES="30")
    client = app.test_client()
    product_id = make_product(app, stock=5)
    _, alice = signed_in(app, profile=True)
    old = placed(buy(client, alice, (product_id, 2)))["id"]
    fresh = placed(buy(client, alice, (product_id, 1)))["id"]
    with app.app_context():
        db.session.execute(sa.update(Order).where(Order.id == old).values(created_at=utcnow() - timedelta(minutes=31)))
        db.session.commit()

    reports = [r for r in _at_once(2, lambda: runner.run_once(app)) if r is not None]
    assert [order_id for report in reports for order_id in report.cancelled_orders] == [old]
    statuses = {o["id"]: o["status"] for o in client.get("/api/v1/orders", headers=alice).get_json()["data"]["items"]}
    assert statuses == {old: "CANCELLED", fresh: "PENDING_PAYMENT"}
    assert product_row(app, product_id).stock == 4


def test_unpaid_orders_never_expire_by_default(app, client):
    product_id = make_product(app, stock=5)
    _, alice = signed_in(app, profile=True)
    order_id = placed(buy(client, alice, (product_id, 1)))["id"]
    with app.app_context():
        db.session.execute(
            sa.update(Order).where(Order.id == order_id).values(created_at=utcnow() - timedelta(days=30))
        )
        db.session.commit()
    assert runner.run_once(app).cancelled_orders == []


def test_streams_live_past_the_limit_are_ended_by_the_worker(make_app, monkeypatch):
    app = make_app(STREAM_MAX_LIVE_HOURS="12")
    ended = []
    monkeypatch.setattr(broadcast, "stream_ended", lambda key, data: ended.append((key, data)))
    stale_id, stale_key = live_stream(app)
    fresh_id, _ = live_stream(app)
    with app.app_context():
        db.session.get(LiveStream, stale_id).started_at = utcnow() - timedelta(hours=13)
        db.session.get(LiveStream, fresh_id).started_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    report = runner.run_once(app)
    assert report.ended_streams == [stale_key]
    with app.app_context():
        stale, fresh = db.session.get(LiveStream, stale_id), db.session.get(LiveStream, fresh_id)
        assert (stale.status, fresh.status) == ("ENDED", "LIVE")
        assert stale.ended_at is not None and stale.duration_seconds >= 13 * 3600
    assert [key for key, _ in ended] == [stale_key]
    assert runner.run_once(app).ended_streams == []
