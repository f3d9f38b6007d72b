"""Where the socket layer meets operations: connection and event metrics, and the graceful
shutdown that tells this process's sockets `server:shutdown` so they reconnect elsewhere.

The metric and shutdown registries live in dorami_api/observability (metrics.py, shutdown.py);
until they exist these hooks are no-ops (see _observability())."""

from __future__ import annotations

import importlib
import logging

from flask import Flask

from dorami_api.extensions import socketio
from dorami_api.realtime import broadcast, connections

log = logging.getLogger(__name__)


def _observability(name: str):
    try:
        return importlib.import_module(f"dorami_api.observability.{name}")
    except ImportError:
        return None


_metrics = _observability("metrics")


def count_event(namespace: str, event: str) -> None:
    if _metrics is not None:
        _metrics.socket_event(namespace, event)


def _count_connect(client: connections.SocketClient) -> None:
    if _metrics is not None:
        _metrics.socket_connected(client.namespace)


def _count_disconnect(client: connections.SocketClient) -> None:
    if _metrics is not None:
        _metrics.socket_disconnected(client.namespace)


def shut_down_local_sockets() -> int:
    """At the start of a graceful shutdown: tell every socket of this process and close it, so
    that clients reconnect to another worker or instance while this one drains."""
    clients = connections.local_clients()
    for client in clients:
        try:
            broadcast.server_shutdown_socket(client.sid, client.namespace)
            socketio.server.disconnect(client.sid, namespace=client.namespace, ignore_queue=True)
        except Exception:
            log.exception("could not close socket %s on shutdown", client.sid)
    return len(clients)


def init_app(app: Flask) -> None:
    shutdown = _observability("shutdown")
    if shutdown is not None:
        shutdown.register("sockets", shut_down_local_sockets)


connections.on_connect(_count_connect)
connections.on_disconnect(_count_disconnect)
