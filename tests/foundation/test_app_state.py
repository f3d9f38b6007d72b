"""Two apps made by create_app in one process, with different configuration, share no state: what
a process keeps for an app (admission slots, caches, broadcast timers, shutdown steps, revocation
listeners, the socket layer's state) is made by that app's init_app and kept in app.extensions."""

from __future__ import annotations

from dorami_api.auth import sessions
from dorami_api.extensions import db
from dorami_api.server import shutdown
from dorami_api.streaming import live_status
from dorami_api.streaming.models import LiveStream
from tests.support.auth import create_user
from tests.support.commerce import live_stream


def _slots(app) -> int:
    """How many order placements the app admits at once (taking them all, then giving them back)."""
    semaphore = app.extensions["order_admission"]
    taken = 0
    while taken < 100 and semaphore.acquire(blocking=False):
        taken += 1
    for _ in range(taken):
        semaphore.release()
    return taken


def test_each_app_admits_as_many_orders_as_its_own_order_concurrency(make_app):
    one, three = make_app(ORDER_CONCURRENCY="1"), make_app(ORDER_CONCURRENCY="3")
    assert (_slots(one), _slots(three)) == (1, 3)
    assert _slots(make_app(ORDER_CONCURRENCY="2")) == 2 and _slots(one) == 1


def test_a_stream_status_remembered_by_one_app_is_not_the_answer_of_another(make_app):
    first, second = make_app(), make_app(SOCKET_PRESENCE_TTL="30")
    stream_id, stream_key = live_stream(first)
    with first.app_context():
        db.session.execute(db.update(LiveStream).where(LiveStream.id == stream_id).values(status="ENDED"))
        db.session.commit()
        assert live_status.status(stream_key) == "ENDED"  # now remembered by the first app
        db.session.execute(db.update(LiveStream).where(LiveStream.id == stream_id).values(status="LIVE"))
        db.session.commit()
    with second.app_context():
        assert live_status.status(stream_key) == "LIVE"  # read afresh, not the first app's memory


def test_revocation_listeners_and_shutdown_steps_belong_to_their_app(make_app):
    first, second = make_app(), make_app(ORDER_CONCURRENCY="2")
    heard = []
    sessions.on_revocation(first, lambda user_id, _sessions, reason: heard.append((user_id, reason)))
    user = create_user(second)
    with second.app_context():
        sessions.revoke_sessions(user.id, None, "admin")
    assert heard == []  # the second app's revocation is not announced to the first app's listener
    with first.app_context():
        sessions.revoke_sessions(user.id, None, "admin")
    assert heard == [(str(user.id), "admin")]

    ran = []
    shutdown.register(first, "only-the-first", lambda: ran.append("first"))
    assert "only-the-first" in shutdown.registered(first)
    assert "only-the-first" not in shutdown.registered(second)
    shutdown.notify_shutdown(second)
    assert ran == []


def test_the_socket_layer_state_of_each_app_is_its_own(make_app):
    first, second = make_app(), make_app(SOCKET_PRESENCE_TTL="30")
    one, two = first.extensions["socket_state"], second.extensions["socket_state"]
    assert set(one) == set(two) >= {"connections", "control", "listeners", "presence"}
    assert all(one[name] is not two[name] for name in one)
    assert (one["presence"].ttl, two["presence"].ttl) == (45, 30)
    for name in ("product_events", "purchase_notices", "stream_status", "flash_sale"):
        assert first.extensions[name] is not second.extensions[name]
