"""Drill: Redis killed and restarted under two gunicorn workers, with chatting viewers on both and
buyers (SPEC §8, dependency outages).

While Redis is down every request gets an answer: 503 SERVICE_UNAVAILABLE with Retry-After where
it needs Redis (the token check, a write whose rate limit cannot be counted, a socket connect, a
chat message), the public product list as usual. When Redis is back the service recovers with no
restart; `ready` says 200 only once the message-queue listeners of both workers are subscribed —
with one worker held paused it stays 503, and a chat message is refused rather than acknowledged
for viewers who would not get it — and every chat message acknowledged as sent reaches every
viewer on both workers.
"""

from __future__ import annotations

import pytest

from tests.drills.helpers import ChatRoom, assert_unavailable, call, only_worker, order_book, server_errors
from tests.support.auth import create_user, login
from tests.support.commerce import make_product, make_stream, shoppers
from tests.support.outages import wait_until
from tests.support.sockets import SocketRefused, Viewer, paused

pytestmark = pytest.mark.slow
STOCK = 20


def subscribers(redis_process, channel: str) -> int:
    return dict(redis_process.client().pubsub_numsub(channel)).get(channel, 0)


def ready(server):
    return call(server, "GET", "/health/ready")


def test_redis_killed_and_restarted_under_two_workers(app, live_server, own_redis, app_env, database_url):
    server = live_server(workers=2, REDIS_URL=own_redis.url, RATELIMIT_ENABLED="true")
    pids = server.wait_for_workers(2)
    stream_id, stream_key = make_stream(app)
    product_id = make_product(app, stock=STOCK, stream_id=stream_id)
    buyer = shoppers(app, 1)[0]
    tokens = [login(app, create_user(app, name=f"Viewer {index}"))["access"] for index in range(4)]
    room = ChatRoom(server, stream_key, tokens)
    queue_channel = app_env["SOCKETIO_CHANNEL"]
    try:
        assert set(room.by_worker) == pids and all(len(v) == 4 for v in room.by_worker.values())
        assert all(ack["success"] for ack in room.send_from_each_worker("before the outage"))
        room.assert_every_acknowledged_message_reached_every_viewer()

        own_redis.kill()
        for pid in sorted(pids):
            with only_worker(server, pid, pids):
                assert_unavailable(call(server, "GET", "/auth/me", headers=buyer))
                assert_unavailable(call(server, "POST", "/orders/direct", headers=buyer, json=_one_unit(product_id)))
                # A write whose limit cannot be counted across workers is refused, not counted per worker.
                login_attempt = {"email": "nobody@dorami.test", "password": "wrong password"}
                assert_unavailable(call(server, "POST", "/auth/login", json=login_attempt))
                # Public reads are served.
                listing = call(server, "GET", f"/products?streamKey={stream_key}")
                assert listing.status_code == 200 and listing.json()["data"]["total"] == 1
                probe = ready(server)
                assert probe.status_code == 503 and probe.json()["info"]["redis"]["status"] == "down"
                with pytest.raises(SocketRefused) as refused:
                    Viewer(server.url, (room.viewers[0].namespaces), token=tokens[0])
                assert refused.value.errors == {"/chat": "SERVICE_UNAVAILABLE"}
        for ack in room.send_from_each_worker("during the outage"):
            assert ack["success"] is False and ack["errorCode"] == "SERVICE_UNAVAILABLE", ack
            assert ack["retryAfter"] >= 1

        # Redis returns while one worker is held paused: its listeners cannot subscribe yet.
        held, running = sorted(pids)
        with paused([held]):
            own_redis.start()
            wait_until(lambda: subscribers(own_redis, queue_channel) >= 1, 15, "the running worker subscribed")
            wait_until(lambda: subscribers(own_redis, f"{queue_channel}:control") >= 1, 15, "its control listener")
            for _ in range(10):  # every answer until the held worker is back: not ready
                probe = ready(server)
                assert probe.status_code == 503 and probe.json()["info"]["redis"]["status"] == "down"
            # The held worker's viewers would miss it: refused, not acknowledged.
            ack = room.send(room.by_worker[running][0], "while a worker is not listening")
            assert ack["success"] is False and ack["errorCode"] == "SERVICE_UNAVAILABLE", ack

        wait_until(lambda: ready(server).status_code == 200, 20, "ready after Redis came back")
        # Ready meant it: both workers hear both channels.
        assert subscribers(own_redis, queue_channel) >= 2
        assert subscribers(own_redis, f"{queue_channel}:control") >= 2
        for attempt in range(3):
            assert all(ack["success"] for ack in room.send_from_each_worker(f"after the outage {attempt}"))
        room.assert_every_acknowledged_message_reached_every_viewer()

        # REST recovered on both workers, with no restart.
        assert server.worker_pids() == pids
        for pid in sorted(pids):
            with only_worker(server, pid, pids):
                assert call(server, "GET", "/auth/me", headers=buyer).status_code == 200
                placed = call(server, "POST", "/orders/direct", headers=buyer, json=_one_unit(product_id))
                assert placed.status_code == 201, placed.text
    finally:
        room.close()
    orders, stock = order_book(database_url, product_id)
    assert len(orders) == 2 and all(shape == (1, 1) for shape in orders.values())
    assert stock == STOCK - 2
    assert server_errors(server.log()) == []


def _one_unit(product_id) -> dict:
    return {"items": [{"productId": str(product_id), "quantity": 1}]}
