"""The Socket.IO server: Flask-SocketIO on gevent (threading where gevent has not patched the
process, e.g. a test or a script), the Redis message queue, the options of the deployment guide,
and the one fact python-socketio does not tell a handler: whether the client asked for an ack."""

from __future__ import annotations

import contextvars
from urllib.parse import urlparse

import redis
import socketio as python_socketio
from flask import Flask

from dorami_api.concurrency import gevent_patched
from dorami_api.extensions import socketio
from dorami_api.redis_client import MAX_CONNECTIONS, POOL_WAIT_SECONDS

PING_INTERVAL_SECONDS = 25
PING_TIMEOUT_SECONDS = 60
# A chat message is at most 500 characters; 64 KiB leaves room for any payload we accept and
# refuses the multi-megabyte frames a client has no reason to send.
MAX_MESSAGE_BYTES = 64 * 1024

_ack_requested: contextvars.ContextVar[bool] = contextvars.ContextVar("socket_ack_requested", default=False)


def ack_requested() -> bool:
    """True inside an event handler when the client passed an acknowledgement callback."""
    return _ack_requested.get()


class RedisQueue(python_socketio.RedisManager):
    """python-socketio's Redis message queue on a blocking connection pool.

    Every broadcast is a PUBLISH from whichever greenlet made it: after-commit broadcasts of a
    flash sale, chat messages, presence updates. python-socketio builds its client with redis-py's
    default pool, which raises MaxConnectionsError past 100 connections in use — and the manager
    then gives up on that broadcast after one retry, so a burst would silently drop events. On
    the blocking pool a publisher waits for a free connection instead (as our own client does,
    see redis_client.py). Sentinel URLs keep python-socketio's own connection code."""

    def _redis_connect(self):
        if urlparse(self.redis_url).scheme not in ("redis", "rediss"):
            return super()._redis_connect()
        pool = redis.BlockingConnectionPool.from_url(
            self.redis_url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECONDS, **self.redis_options
        )
        self.redis = redis.Redis(connection_pool=pool)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    options: dict = {
        "async_mode": "gevent" if gevent_patched() else "threading",
        "transports": ["websocket", "polling"],
        "ping_interval": PING_INTERVAL_SECONDS,
        "ping_timeout": PING_TIMEOUT_SECONDS,
        "max_http_buffer_size": MAX_MESSAGE_BYTES,
        "cors_allowed_origins": _origin_check(config.cors_origins),
        "cors_credentials": True,
        # Socket events never read or write the Flask cookie session.
        "manage_session": False,
        "logger": False,
        "engineio_logger": False,
    }
    if config.redis is not None:
        # Built here rather than by Flask-SocketIO so that sentinel URLs get the RedisManager too.
        # It subscribes to the channel only when this process accepts its first socket, so a
        # process that never serves sockets (the jobs worker, a script) only publishes.
        options["client_manager"] = RedisQueue(config.redis.socketio_url(), channel=config.socketio_channel)
    socketio.init_app(app, **options)
    _track_ack_requests(socketio.server)


def _origin_check(origins: tuple[str, ...]):
    """CORS_ORIGINS (the same list as HTTP), plus the server's own origin as engineio allows by
    default; a client that sends no Origin (a native app) is not a browser and passes."""
    if "*" in origins:
        return "*"
    allowed = frozenset(origin.rstrip("/") for origin in origins)

    def allow(origin: str | None, environ: dict) -> bool:
        if origin is None or origin.rstrip("/") in allowed:
            return True
        scheme = environ.get("HTTP_X_FORWARDED_PROTO", environ.get("wsgi.url_scheme", "http")).split(",")[0].strip()
        host = environ.get("HTTP_X_FORWARDED_HOST", environ.get("HTTP_HOST", "")).split(",")[0].strip()
        return bool(host) and origin == f"{scheme}://{host}"

    return allow


def _track_ack_requests(server: python_socketio.Server) -> None:
    """python-socketio sends a handler's return value as the ack when the client asked for one,
    but does not tell the handler. We record it per event (each event runs in its own greenlet or
    thread, so a context variable is private to it) so a handler can answer through the ack when
    there is one and through `*:success` / `error` events otherwise."""
    handle = server._handle_event_internal

    def handle_tracking_ack(srv, sid, eio_sid, data, namespace, ack_id):
        token = _ack_requested.set(ack_id is not None)
        try:
            return handle(srv, sid, eio_sid, data, namespace, ack_id)
        finally:
            _ack_requested.reset(token)

    server._handle_event_internal = handle_tracking_ack
