"""Revoked sessions and suspended users lose their open sockets at once, on every process
: auth publishes every revocation (auth/sessions.py on_revocation); we turn it into a
control command that each socket-serving process runs on its own sockets — tell them
`session:revoked`, then disconnect them."""

from __future__ import annotations

from flask import Flask

from dorami_api.auth.sessions import on_revocation
from dorami_api.extensions import socketio
from dorami_api.realtime import broadcast, connections, control


def cut_local_sockets(user_id: str, session_ids: list[str] | None, reason: str) -> int:
    """Tell and disconnect this process's sockets of the user (or of those sessions only)."""
    wanted = None if session_ids is None else set(session_ids)
    cut = 0
    for client in connections.local_clients():
        if client.user_id != user_id or (wanted is not None and client.session_id not in wanted):
            continue
        broadcast.session_revoked_socket(client.sid, client.namespace, {"reason": reason})
        socketio.server.disconnect(client.sid, namespace=client.namespace, ignore_queue=True)
        cut += 1
    return cut


def _revoked(user_id: str, session_ids: list[str] | None, reason: str) -> None:
    control.publish("cut-sessions", user_id=user_id, session_ids=session_ids, reason=reason)


def init_app(app: Flask) -> None:
    control.command(app, "cut-sessions", cut_local_sockets)
    on_revocation(app, _revoked)
