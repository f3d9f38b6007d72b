"""Drill: a Redis Sentinel failover under two gunicorn workers (`REDIS_URL=redis-sentinel://…`,
the seed's HA setup), with chatting viewers on both workers and a buyer.

Own master, replica and Sentinel on spare ports. The master is killed; until the Sentinel promotes
the replica, requests that need Redis answer 503 with Retry-After (never 500). After the promotion
the service follows the new master by itself, with no restart: `ready` says 200 only once both
workers' queue listeners are subscribed on the new master, and the very first chat messages sent
then — and every later one acknowledged as sent — reach all 12 viewers.
"""

from __future__ import annotations

import pytest

from tests.drills.helpers import (
    LiveShow,
    assert_no_server_errors,
    assert_unavailable,
    call,
    only_worker,
)
from tests.support.outages import wait_until

pytestmark = pytest.mark.slow
STOCK = 10


def test_sentinel_failover_under_two_workers(app, live_server, sentinel_set, app_env, database_url):
    server = live_server(workers=2, REDIS_URL=sentinel_set.url, RATELIMIT_ENABLED="true")
    show = LiveShow(app, server, viewers_per_worker=6, stock=STOCK)
    pids, room, buyer = show.pids, show.room, show.buyer
    queue_channel = app_env["SOCKETIO_CHANNEL"]
    try:
        sentinel_set.master.kill()
        # The Sentinel needs a second to call the master down: Redis is unavailable meanwhile.
        probe = call(server, "GET", "/health/ready")
        assert probe.status_code == 503 and probe.json()["info"]["redis"]["status"] == "down"
        for pid in sorted(pids):
            with only_worker(server, pid, pids):
                me = call(server, "GET", "/auth/me", headers=buyer)
                if me.status_code != 200:  # already failed over: served from the new master
                    assert_unavailable(me)

        wait_until(lambda: sentinel_set.master_port() == sentinel_set.replica.port, 30, "the replica promoted")
        wait_until(lambda: call(server, "GET", "/health/ready").status_code == 200, 30, "ready after the failover")
        show.assert_recovered(server, sentinel_set.replica, queue_channel)
    finally:
        room.close()
    assert_no_server_errors(server)
    show.assert_two_whole_orders(database_url, STOCK)
