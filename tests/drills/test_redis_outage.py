"""Drill: Redis killed and restarted under two gunicorn workers, with chatting viewers on both and
buyers.

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

from tests.drills.helpers import (
    LiveShow,
    assert_no_server_errors,
    assert_unavailable,
    call,
    only_worker,
    subscribers,
)
from tests.support.outages import wait_until
from tests.support.sockets import SocketRefused, Viewer, paused

pytestmark = pytest.mark.slow
STOCK = 20


def ready(server):
    return call(server, "GET", "/health/ready")


def test_redis_killed_and_restarted_under_two_workers(app, live_server, own_redis, app_env, database_url):
    server = live_server(workers=2, REDIS_URL=own_redis.url, RATELIMIT_ENABLED="true")
    show = LiveShow(app, server, viewers_per_worker=4, stock=STOCK)
    pids, room, buyer, tokens, stream_key = show.pids, show.room, show.buyer, show.tokens, show.stream_key
    queue_channel = app_env["SOCKETIO_CHANNEL"]
    try:
        own_redis.kill()
        for pid in sorted(pids):
            with only_worker(server, pid, pids):
                assert_unavailable(call(server, "GET", "/auth/me", headers=buyer))
                assert_unavailable(call(server, "POST", "/orders/direct", headers=buyer, json=show.one_unit()))
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
        show.assert_recovered(server, own_redis, queue_channel)
    finally:
        room.close()
    assert_no_server_errors(server)
    show.assert_two_whole_orders(database_url, STOCK)
