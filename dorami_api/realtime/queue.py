"""The Socket.IO message queue on Redis: python-socketio's RedisManager, with three changes.

1. A blocking connection pool. Every broadcast is a PUBLISH from whichever greenlet made it:
   after-commit broadcasts of a flash sale, chat messages, presence updates. python-socketio builds
   its client with redis-py's default pool, which raises MaxConnectionsError past 100 connections in
   use — and the manager then gives up on that broadcast after one retry, so a burst would silently
   drop events. On the blocking pool a publisher waits for a free connection instead (as our own
   client does, see redis_client.py). Sentinel URLs keep python-socketio's own connection code.
2. The listener subscribes again within about a second of Redis answering after an outage or a
   failover, and says whether it is subscribed (listeners.py), instead of backing off for up to a
   minute while the process silently misses every broadcast of the others.
3. `confirmable` / `deliver_here`: a broadcast the sender must be told about (a chat message) is
   refused up front with QueueUnavailable while a process of this instance is not subscribed; the
   caller's own Redis script PUBLISHes it together with the change it announces, and only once
   that script ran is it delivered here too, so the sender is never told "sent" for a message
   nobody received.
4. `publish_in_order`: a versioned broadcast (an auction's state) published only when newer than
   the last one, and at most once per window, checked and published in one Redis call.
"""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import redis
import socketio as python_socketio

from dorami_api.errors import REDIS_OUTAGE
from dorami_api.realtime import listeners
from dorami_api.redis_client import DEFAULT_TIMEOUTS, MAX_CONNECTIONS, POOL_WAIT_SECONDS, outage_retry

log = logging.getLogger(__name__)
LISTENER_NAME = "socketio"


# How long the newest published version of a key is remembered (an auction lasts minutes).
ORDER_MEMORY_SECONDS = 24 * 3600
_PUBLISH_IN_ORDER = """
local newest = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= newest then return {0, 0} end
if tonumber(ARGV[2]) > 0 then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then
    return {2, math.max(redis.call('PTTL', KEYS[2]), 1)}
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {1, 0}
"""


class QueueUnavailable(Exception):
    """The message queue did not take a broadcast: Redis is unreachable, or a process of this
    instance is not subscribed, so the broadcast would not reach every socket."""


class RedisQueue(python_socketio.RedisManager):
    def __init__(
        self, url: str, channel: str, health: listeners.ListenerHealth | None = None, write_only: bool = False
    ) -> None:
        # Where its listener reports (the server's, realtime/server.py); a publish-only queue has its own.
        self.health = health or listeners.ListenerHealth()
        options = {
            "socket_connect_timeout": DEFAULT_TIMEOUTS["socket_connect_timeout"],
            "socket_timeout": DEFAULT_TIMEOUTS["socket_timeout"],
            "retry": outage_retry(),
        }
        super().__init__(url, channel=channel, write_only=write_only, redis_options=options)

    def _redis_connect(self):
        if urlparse(self.redis_url).scheme not in ("redis", "rediss"):
            return super()._redis_connect()
        pool = redis.BlockingConnectionPool.from_url(
            self.redis_url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECONDS, **self.redis_options
        )
        self.redis = redis.Redis(connection_pool=pool)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True

    # --- publishing ------------------------------------------------------------------------------

    def _publish(self, data):
        """Every broadcast python-socketio makes (emit, disconnect, rooms across processes). A
        failure is logged and dropped, as python-socketio does: those callers cannot act on it."""
        try:
            return self.publish_or_raise(data)
        except QueueUnavailable as error:
            log.error("broadcast not published: %s", error)
            return None

    def publish_or_raise(self, data) -> int:
        if not self.connected:
            self._redis_connect()
        try:
            # The client retries a broken connection itself (outage_retry: a restart, a failover).
            return self.redis.publish(self.channel, self.json.dumps(data))
        except REDIS_OUTAGE as error:
            raise QueueUnavailable(f"Redis did not take the message ({type(error).__name__})") from error

    @staticmethod
    def _emit_message(event: str, data, namespace: str, room: str, host_id) -> dict:
        """python-socketio's own `emit` message (JSON queue format of the pinned version), without
        the callback and binary cases a broadcast never uses. The listener of every process
        delivers it, except the one whose host id it carries."""
        return {
            "method": "emit",
            "event": event,
            "data": [data],
            "binary": False,
            "namespace": namespace,
            "room": room,
            "skip_sid": None,
            "callback": None,
            "host_id": host_id,
        }

    def confirmable(self, event: str, data, namespace: str, room: str) -> dict:
        """The queue message of an emit to `room` on every process, for the caller's own Redis script
        to publish (PUBLISH `self.channel` `self.json.dumps(message)`: a chat message, stored and
        published in one round trip) and then to hand to deliver_here(). Refused up front while a
        process of this instance is not subscribed (its sockets would miss it)."""
        if not self.health.every_listener_subscribed():
            raise QueueUnavailable("a process of this instance is not subscribed to the message queue")
        return self._emit_message(event, data, namespace, room, self.host_id)

    def deliver_here(self, message: dict) -> None:
        """This process's sockets, for a confirmable message that has been published."""
        self._handle_emit(message)

    def publish_in_order(
        self, event: str, data, namespace: str, room: str, order_key: str, version: int, window_ms: int
    ) -> tuple[str, int]:
        """Publish unless a version at or above `version` was published for `order_key` ("stale"),
        or one went out less than `window_ms` ago ("wait", milliseconds left). Without a host id,
        so that every process — this one too — delivers it from the queue, in Redis's order: two
        processes publishing versions 10 and 11 can never reach a viewer as 11 then 10."""
        message = self._emit_message(event, data, namespace, room, None)
        if not self.connected:
            self._redis_connect()
        keys = [f"{self.channel}:order:{order_key}:version", f"{self.channel}:order:{order_key}:window"]
        args = [version, window_ms, self.channel, self.json.dumps(message), ORDER_MEMORY_SECONDS]
        status, wait_ms = self.redis.eval(_PUBLISH_IN_ORDER, len(keys), *keys, *args)
        return {1: "sent", 0: "stale", 2: "wait"}[int(status)], int(wait_ms)

    # --- listening -------------------------------------------------------------------------------

    def initialize(self):
        # Called when this process accepts its first socket: from then on its sockets need the
        # listener, which is down until subscribed.
        if not self.write_only:
            self.health.starting(LISTENER_NAME)
        super().initialize()

    def _redis_listen_with_retries(self):
        """python-socketio's `_listen` reads this; ours re-subscribes promptly (listeners.py)."""
        if not self.connected:
            self._redis_connect()
        yield from self.health.messages(LISTENER_NAME, self.channel, self.redis.pubsub)
