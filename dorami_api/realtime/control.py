"""Commands every socket-serving process runs against the sockets it holds — for actions on a
user's sockets, wherever they are (python-socketio's queue can address a room, but not "this
user's sockets of that session" or "make them leave a room" on another process).

A command is published on the Redis channel `<SOCKETIO_CHANNEL>:control`; each process that
serves sockets subscribed before accepting its first socket, so none is missed after that. In the
embedded mode (no Redis, one process) a command runs in place.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from flask import Flask

from dorami_api.extensions import redis_store, socketio
from dorami_api.realtime import connections, session_cache
from dorami_api.redis_client import build_redis

log = logging.getLogger(__name__)


class _State:
    channel: str | None = None  # None: embedded mode
    redis_target = None
    subscribed = False


_state = _State()
_commands: dict[str, Callable[..., object]] = {}


def command(name: str):
    """Register handler(**arguments) as the command `name`."""

    def register(handler: Callable[..., object]):
        _commands[name] = handler
        return handler

    return register


def publish(name: str, **arguments) -> None:
    """Run the command on every socket-serving process (this one included)."""
    if _state.channel is None:
        _run({"command": name, "arguments": arguments})
        return
    redis_store.publish(_state.channel, json.dumps({"command": name, "arguments": arguments}))


def _run(message: dict) -> None:
    handler = _commands.get(message.get("command"))
    if handler is None:
        log.warning("unknown socket control command %r", message.get("command"))
        return
    handler(**message.get("arguments", {}))


def _listen(pubsub) -> None:
    while True:
        try:
            while True:
                message = pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if message and message.get("type") == "message":
                    try:
                        _run(json.loads(message["data"]))
                    except Exception:
                        log.exception("socket control command failed")
        except Exception:
            session_cache.listening(False)  # revocations sent meanwhile are missed
            log.exception("socket control listener lost Redis; resubscribing")
            socketio.sleep(1.0)
            try:
                pubsub = _subscribe()
                session_cache.listening(True)
            except Exception:
                log.exception("socket control listener could not resubscribe")


def _subscribe():
    pubsub = build_redis(_state.redis_target).pubsub()
    pubsub.subscribe(_state.channel)
    return pubsub


def _on_connect(client: connections.SocketClient) -> None:
    if _state.channel is None or _state.subscribed:
        return
    pubsub = _subscribe()  # raises (and is retried on the next connect) while Redis is down
    _state.subscribed = True
    session_cache.listening(True)
    socketio.start_background_task(_listen, pubsub)


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    _state.redis_target = config.redis
    _state.channel = None if config.redis is None else f"{config.socketio_channel}:control"


connections.on_connect(_on_connect)
