"""Where the socket layer meets operations: connection and event metrics
(observability/metrics.py), and step 2 of the graceful shutdown (server/shutdown.py):
this process's sockets are told `server:shutdown` and closed, so clients reconnect to another
worker or instance while this one drains."""

from __future__ import annotations

import logging

from flask import Flask

from dorami_api.extensions import socketio
from dorami_api.observability import metrics
from dorami_api.realtime import broadcast, connections
from dorami_api.server import shutdown

log = logging.getLogger(__name__)


def count_event(namespace: str, event: str) -> None:
    metrics.socket_event(namespace, event)


def _count_connect(client: connections.SocketClient) -> None:
    metrics.socket_connected(client.namespace)


def _count_disconnect(client: connections.SocketClient) -> None:
    metrics.socket_disconnected(client.namespace)


def shut_down_local_sockets() -> int:
    """Tell every socket of this process and close it; returns how many there were."""
    clients = connections.local_clients()
    for client in clients:
        try:
            broadcast.server_shutdown_socket(client.sid, client.namespace)
            socketio.server.disconnect(client.sid, namespace=client.namespace, ignore_queue=True)
        except Exception:
            log.exception("could not close socket %s on shutdown", client.sid)
    return len(clients)


def init_app(app: Flask) -> None:
    shutdown.register(app, "sockets", shut_down_local_sockets)
    metrics.export_sockets_at_zero((broadcast.ROOT, broadcast.STREAMING, broadcast.CHAT))
    connections.on_connect(app, _count_connect)
    connections.on_disconnect(app, _count_disconnect)
