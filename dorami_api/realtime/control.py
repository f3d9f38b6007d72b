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
from dorami_api.realtime import connections
from dorami_api.realtime import server as socket_server
from dorami_api.realtime.listeners import ListenerHealth
from dorami_api.redis_client import build_redis

log = logging.getLogger(__name__)
LISTENER_NAME = "control"
FIRST_SUBSCRIBE_WAIT_SECONDS = 2.0


class Control:
    def __init__(self, channel: str | None, redis_target) -> None:
        self.channel = channel  # None: embedded mode
        self.redis_target = redis_target
        self.started = False
        self.commands: dict[str, Callable[..., object]] = {}


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    channel = None if config.redis is None else f"{config.socketio_channel}:control"
    socket_server.keep(app, "control", Control(channel, config.redis))
    connections.on_connect(app, _on_connect)


def _state() -> Control:
    return socket_server.state("control")


def command(app: Flask, name: str, handler: Callable[..., object]) -> None:
    """Register handler(**arguments) as the command `name` of this app's socket server."""
    app.extensions["socket_state"]["control"].commands[name] = handler


def publish(name: str, **arguments) -> None:
    """Run the command on every socket-serving process (this one included)."""
    state = _state()
    if state.channel is None:
        _run(state, {"command": name, "arguments": arguments})
        return
    redis_store.publish(state.channel, json.dumps({"command": name, "arguments": arguments}))


def _run(state: Control, message: dict) -> None:
    handler = state.commands.get(message.get("command"))
    if handler is None:
        log.warning("unknown socket control command %r", message.get("command"))
        return
    handler(**message.get("arguments", {}))


def _listen(state: Control, health: ListenerHealth) -> None:
    def open_pubsub():
        return build_redis(state.redis_target).pubsub()

    for message in health.messages(LISTENER_NAME, state.channel, open_pubsub):
        try:
            _run(state, json.loads(message["data"]))
        except Exception:
            log.exception("socket control command failed")


def _on_connect(client: connections.SocketClient) -> None:
    """The first socket starts the listener and waits (once, briefly) for it to subscribe, so that a
    command published after this socket was accepted reaches it. While it is not subscribed, the
    instance is not ready (listeners.py): a revocation sent meanwhile would leave its sockets open
    (new connects are refused all the same: auth/remembered_sessions.py reads the session epoch)."""
    state = _state()
    if state.channel is None or state.started:
        return
    state.started = True
    health: ListenerHealth = socket_server.state("listeners")
    health.starting(LISTENER_NAME)
    socketio.start_background_task(_listen, state, health)
    deadline = time.monotonic() + FIRST_SUBSCRIBE_WAIT_SECONDS
    while not health.is_subscribed(LISTENER_NAME) and time.monotonic() < deadline:
        socketio.sleep(0.01)
