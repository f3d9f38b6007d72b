"""The Socket.IO side of the service (SPEC §7): one Flask-SocketIO server shared by every process
through the Redis message queue, three namespaces, and broadcast.py — the only place that knows
event names and rooms.

Modules: server (options, message queue, ack detection), connections (connect-time
authentication and the sockets of this process), replies (ack or `*:success` / `error`, rate
limits), chat (`/chat`), presence (`/streaming`), commerce (`/`), revocation (cutting revoked
sessions' sockets on every process), control (commands each process runs on the sockets it
holds), lifecycle (metrics and graceful shutdown).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from dorami_api.realtime import chat, commerce, connections, control, lifecycle, presence, revocation, server  # noqa: F401

    server.init_app(app)
    control.init_app(app)
    revocation.init_app(app)
    presence.init_app(app)
    lifecycle.init_app(app)
