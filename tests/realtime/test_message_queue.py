"""The Socket.IO message queue under a burst of broadcasts: a publisher that finds every Redis
connection in use waits for one, and the broadcast goes out — it is never dropped."""

from __future__ import annotations

import json
import threading
import time

import redis

from dorami_api.realtime.queue import RedisQueue
from dorami_api.redis_client import MAX_CONNECTIONS


def test_a_broadcast_waits_for_a_free_connection_instead_of_being_dropped(redis_url):
    channel = f"queue-test-{time.monotonic_ns()}"
    queue = RedisQueue(redis_url, channel=channel, write_only=True)
    listener = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel)
    queue._redis_connect()
    pool = queue.redis.connection_pool
    # Every connection of the queue's pool is busy (as when hundreds of greenlets broadcast at once).
    busy = [pool.get_connection() for _ in range(MAX_CONNECTIONS)]
    released = threading.Timer(0.3, lambda: [pool.release(c) for c in busy])
    released.start()
    try:
        queue._publish({"method": "emit", "event": "live:product:soldout", "data": {"id": "p1"}})
    finally:
        released.join()

    deadline = time.monotonic() + 5
    received = None
    while received is None and time.monotonic() < deadline:
        received = listener.get_message(timeout=0.5)
    listener.close()
    pool.disconnect()
    assert received is not None, "the broadcast was dropped"
    assert json.loads(received["data"])["event"] == "live:product:soldout"
