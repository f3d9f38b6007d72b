"""Revoked sessions and suspended users lose their open sockets at once, on every process
(SPEC §3): the revoking process publishes on a Redis channel; every process that serves sockets
is subscribed, tells the matching local sockets `session:revoked` and disconnects them."""

from __future__ import annotations

import json
import logging

from flask import Flask

from dorami_api.auth.sessions import on_revocation
from dorami_api.extensions import redis_store, socketio
from dorami_api.realtime import broadcast, connections
from dorami_api.redis_client import build_redis

log = logging.getLogger(__name__)


class _State:
    channel: str | None = None  # None: embedded mode, one process, no Redis pub/sub
    redis_target = None
    subscribed = False


_state = _State()


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


def _publish(user_id: str, session_ids: list[str] | None, reason: str) -> None:
    if _state.channel is None:
        cut_local_sockets(user_id, session_ids, reason)
        return
    message = {"userId": user_id, "sessionIds": session_ids, "reason": reason}
    redis_store.publish(_state.channel, json.dumps(message))


def _handle(raw: str) -> None:
    message = json.loads(raw)
    cut_local_sockets(message["userId"], message.get("sessionIds"), message.get("reason") or "revoked")


def _listen(pubsub) -> None:
    while True:
        try:
            while True:
                message = pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if message and message.get("type") == "message":
                    try:
                        _handle(message["data"])
                    except Exception:
                        log.exception("revocation message not handled")
        except Exception:
            log.exception("revocation listener lost Redis; resubscribing")
            socketio.sleep(1.0)
            try:
                pubsub = _subscribe()
            except Exception:
                log.exception("revocation listener could not resubscribe")


def _subscribe():
    pubsub = build_redis(_state.redis_target).pubsub()
    pubsub.subscribe(_state.channel)
    return pubsub


def _on_connect(client: connections.SocketClient) -> None:
    # Subscribed before this first socket is accepted, so no revocation published after it is missed.
    if _state.channel is None or _state.subscribed:
        return
    pubsub = _subscribe()  # raises (and is retried on the next connect) while Redis is down
    _state.subscribed = True
    socketio.start_background_task(_listen, pubsub)


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    _state.redis_target = config.redis
    _state.channel = None if config.redis is None else f"{config.socketio_channel}:revocations"
    on_revocation(_publish)


connections.on_connect(_on_connect)
