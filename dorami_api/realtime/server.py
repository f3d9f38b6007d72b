"""The Socket.IO server: Flask-SocketIO on gevent (threading where gevent has not patched the
process, e.g. a test or a script), the Redis message queue, the options of the deployment guide,
the one fact python-socketio does not tell a handler: whether the client asked for an ack, and the
state the socket layer keeps in this process (`state()`)."""

from __future__ import annotations

import contextvars

import socketio as python_socketio
from flask import Flask

from dorami_api.concurrency import call_in_own_greenlet, gevent_patched
from dorami_api.extensions import socketio
from dorami_api.realtime.listeners import ListenerHealth
from dorami_api.realtime.queue import RedisQueue

PING_INTERVAL_SECONDS = 25
PING_TIMEOUT_SECONDS = 60
# A chat message is at most 500 characters; 64 KiB leaves room for any payload we accept and
# refuses the multi-megabyte frames a client has no reason to send.
MAX_MESSAGE_BYTES = 64 * 1024

# A context variable, not shared state: each event handler sees only its own value.
_ack_requested: contextvars.ContextVar[bool] = contextvars.ContextVar("socket_ack_requested", default=False)


def ack_requested() -> bool:
    """True inside an event handler when the client passed an acknowledgement callback."""
    return _ack_requested.get()


def init_app(app: Flask) -> None:
    """Build this app's Socket.IO server, and the place for what the socket layer keeps (below)."""
    config = app.config["DORAMI"]
    health = ListenerHealth()  # whether this process's queue listeners hear Redis (listeners.py)
    state: dict = {"listeners": health}
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
        options["client_manager"] = RedisQueue(
            config.redis.socketio_url(), channel=config.socketio_channel, health=health
        )
    socketio.init_app(app, **options)
    _track_ack_requests(socketio.server)
    _connect_in_own_greenlet(socketio.server)
    # What the socket layer keeps (the sockets this process holds, presence, control commands, the
    # sessions remembered for a connect, whether its listeners hear Redis) belongs to the server
    # that holds those sockets: each module's init_app puts its part here. Flask-SocketIO builds a
    # new server for every app, so a second app in one process (tests) starts with its own state;
    # code that runs outside any app context (a listener greenlet, a shutdown step) reaches it
    # through the server, as it reaches the sockets.
    app.extensions["socket_state"] = socketio.server.dorami_state = state


def keep(app: Flask, name: str, part):
    """Make `part` the state `name` of this app's Socket.IO server (called from init_app)."""
    app.extensions["socket_state"][name] = part
    return part


def state(name: str):
    """The state `name` of this process's Socket.IO server, made by its module's init_app."""
    return socketio.server.dorami_state[name]


def _origin_check(origins: tuple[str, ...]):
    """CORS_ORIGINS (the same list as HTTP), plus the server's own origin as engineio allows by
    default; a client that sends no Origin (a native app) is not a browser and passes.

    The server's own origin is the request's scheme and Host as the WSGI environ has them: behind
    PROXY_HOPS trusted proxies, ProxyFix has already put the proxy's X-Forwarded-Proto/-Host there;
    without them a client's X-Forwarded-* headers are never believed (else any client could name
    its own Origin as the host and pass)."""
    if "*" in origins:
        return "*"
    allowed = frozenset(origin.rstrip("/") for origin in origins)

    def allow(origin: str | None, environ: dict) -> bool:
        if origin is None or origin.rstrip("/") in allowed:
            return True
        scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", "")
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


def _connect_in_own_greenlet(server: python_socketio.Server) -> None:
    """A namespace CONNECT is handled on the socket's reader greenlet, which lives as long as the
    socket. The connect goes deep (Flask's request context matches a route; the token check goes
    down through redis-py into gevent's socket), and a greenlet keeps every page of frame stack it
    ever touched (concurrency.call_in_own_greenlet): about 1.2 KB more per idle socket, measured.
    So the connect runs in a greenlet that ends with it. The reader waits for it, so the packets
    the client sends next are still handled after its connect. (An event's handler already runs
    in a greenlet of its own; handling every packet aside measured no better.)"""
    handle = server._handle_connect

    def handle_aside(eio_sid, namespace, data):
        return call_in_own_greenlet(handle, eio_sid, namespace, data)

    server._handle_connect = handle_aside
