"""Commands every socket-serving process runs against the sockets it holds — for actions on a
user's sockets, wherever they are (python-socketio's queue can address a room, but not "this
user's sockets of that session" or "make them leave a room" on another process).

A command is published on the Redis channel `<SOCKETIO_CHANNEL>:control`; each process that
serves sockets subscribes when it accepts its first socket and again, promptly, after an outage
(listeners.py). In the embedded mode (no Redis, one process) a command runs in place.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from flask import Flask

from dorami_api.extensions import redis_store, socketio
from dorami_api.realtime import connections, listeners, session_cache
from dorami_api.redis_client import build_redis

log = logging.getLogger(__name__)
LISTENER_NAME = "control"
FIRST_SUBSCRIBE_WAIT_SECONDS = 2.0


class _State:
    channel: str | None = None  # None: embedded mode
    redis_target = None
    started = False


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


def _listen() -> None:
    for message in listeners.messages(LISTENER_NAME, _state.channel, _open_pubsub, on_change=session_cache.listening):
        try:
            _run(json.loads(message["data"]))
        except Exception:
            log.exception("socket control command failed")


def _open_pubsub():
    return build_redis(_state.redis_target).pubsub()


def _on_connect(client: connections.SocketClient) -> None:
    """The first socket starts the listener and waits (once, briefly) for it to subscribe, so that a
    command published after this socket was accepted reaches it. While it is not subscribed,
    sessions are not remembered (revocations sent meanwhile are missed) and the instance is not
    ready (listeners.py)."""
    if _state.channel is None or _state.started:
        return
    _state.started = True
    listeners.starting(LISTENER_NAME)
    socketio.start_background_task(_listen)
    deadline = time.monotonic() + FIRST_SUBSCRIBE_WAIT_SECONDS
    while not listeners.is_subscribed(LISTENER_NAME) and time.monotonic() < deadline:
        socketio.sleep(0.01)


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    _state.redis_target = config.redis
    _state.channel = None if config.redis is None else f"{config.socketio_channel}:control"


connections.on_connect(_on_connect)
