"""Listening on Redis pub/sub channels through outages, and whether every listener of this server
instance hears its channel again.

A process that serves sockets listens on two channels: the Socket.IO message queue (broadcasts
from every other process) and the control channel (control.py). While a listener is not
subscribed, events published by other processes never reach this process's sockets: Redis does not
keep them. So a listener counts as down from the moment it loses its connection until Redis has
confirmed its new subscription, and `every_listener_subscribed()` — read by the readiness probe and
before a chat message is accepted — is true only when no listener of any live process of this
instance is down.

The processes of one instance (the workers of one gunicorn master) share that state through a
directory named by DORAMI_LISTENERS_DIR (gunicorn.conf.py creates it): a down listener is a file
`<pid>.<channel name>`, removed once subscribed again, and by the master when the worker exits.
Without the directory (a single process) the state is this process's own.

After a failure a listener subscribes again after 0.05 s, doubling up to 1 s (tenacity's
exponential wait): it hears its channel within about a second of Redis answering.
(python-socketio's own listener waits 1, 2, 4 … up to 60 s between attempts, which kept a worker
deaf for seconds after Redis was back.) An idle connection is pinged every HEARTBEAT_SECONDS, so a
Redis that hangs without closing the connection is noticed too.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import tenacity

log = logging.getLogger(__name__)

DIRECTORY_VARIABLE = "DORAMI_LISTENERS_DIR"
FIRST_RETRY_SECONDS = 0.05
MAX_RETRY_SECONDS = 1.0
HEARTBEAT_SECONDS = 5.0
SUBSCRIBE_SECONDS = 5.0


class ListenerHealth:
    """Which listeners of this process are down, for one Socket.IO server (realtime/server.py
    makes one per app; its queue and its control listener report here)."""

    def __init__(self) -> None:
        self._down_here: set[str] = set()  # channel names of this process's listeners that are down

    def _mark(self, name: str, down: bool) -> None:
        (self._down_here.add if down else self._down_here.discard)(name)
        directory = _directory()
        if directory is None:
            return
        marker = directory / f"{os.getpid()}.{name}"
        try:
            if down:
                marker.touch()
            else:
                marker.unlink(missing_ok=True)
        except OSError:
            log.exception("could not record listener %s as %s", name, "down" if down else "subscribed")

    def starting(self, name: str) -> None:
        """A listener is about to start: down until its first subscription is confirmed."""
        self._mark(name, down=True)

    def is_subscribed(self, name: str) -> bool:
        """Whether this process's listener `name` is subscribed now."""
        return name not in self._down_here

    def every_listener_subscribed(self) -> bool:
        """True when no queue listener of any live process of this instance is down."""
        directory = _directory()
        if directory is None:
            return not self._down_here
        try:
            markers = os.listdir(directory)
        except FileNotFoundError:
            return not self._down_here
        return not any(_alive(marker.split(".", 1)[0]) for marker in markers)

    def messages(self, name: str, channel: str, open_pubsub: Callable[[], object], on_change=None) -> Iterator[dict]:
        """Every message published on `channel`, for ever: subscribes through `open_pubsub()` (a new
        redis-py PubSub), and after any failure subscribes again on a fresh one. `on_change(True)` is
        called once a subscription is confirmed, `on_change(False)` when it is lost."""
        self.starting(name)
        while True:
            pubsub = self._subscribed(name, channel, open_pubsub, on_change)
            if on_change is not None:
                on_change(True)
            log.info("listening on %s", channel)
            try:
                yield from _until_failure(pubsub)
            except Exception as error:  # any failure: Redis gone, failing over, hung, or a bug in redis-py
                self._failed(name, error, on_change)
            finally:
                _close_quietly(pubsub)
            time.sleep(FIRST_RETRY_SECONDS)

    def _subscribed(self, name: str, channel: str, open_pubsub: Callable[[], object], on_change):
        """A fresh PubSub subscribed to `channel`: tried again after FIRST_RETRY_SECONDS, doubling up
        to MAX_RETRY_SECONDS, until Redis confirms a subscription."""
        retrying = tenacity.Retrying(
            wait=tenacity.wait_exponential(multiplier=FIRST_RETRY_SECONDS, max=MAX_RETRY_SECONDS),
            retry=tenacity.retry_if_exception_type(Exception),
            before_sleep=lambda attempt: self._failed(name, attempt.outcome.exception(), on_change),
        )
        for attempt in retrying:
            with attempt:
                pubsub = open_pubsub()
                try:
                    _subscribe(pubsub, channel)
                except BaseException:
                    _close_quietly(pubsub)
                    raise
        self._mark(name, down=False)
        return pubsub

    def _failed(self, name: str, error: BaseException, on_change) -> None:
        if name not in self._down_here:
            log.warning("listener %s lost Redis (%s); subscribing again", name, type(error).__name__)
        self._mark(name, down=True)
        if on_change is not None:
            on_change(False)


def _directory() -> Path | None:
    value = os.environ.get(DIRECTORY_VARIABLE)
    return Path(value) if value else None


def forget_process(pid: int) -> None:
    """The master, when a worker has exited: its listeners no longer count."""
    directory = _directory()
    if directory is not None:
        for marker in directory.glob(f"{pid}.*"):
            marker.unlink(missing_ok=True)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _subscribe(pubsub, channel: str) -> None:
    """SUBSCRIBE and wait for Redis to confirm it: from then on every message published on the
    channel reaches this listener."""
    pubsub.subscribe(channel)
    deadline = time.monotonic() + SUBSCRIBE_SECONDS
    while time.monotonic() < deadline:
        reply = pubsub.get_message(timeout=deadline - time.monotonic())
        if reply is not None and reply.get("type") == "subscribe":
            return
    raise TimeoutError(f"Redis did not confirm the subscription to {channel}")


def _until_failure(pubsub) -> Iterator[dict]:
    awaiting_pong_since: float | None = None
    while True:
        message = pubsub.get_message(timeout=HEARTBEAT_SECONDS)
        if message is None:
            if awaiting_pong_since is not None and time.monotonic() - awaiting_pong_since >= HEARTBEAT_SECONDS:
                raise TimeoutError("Redis did not answer a ping on the subscribed connection")
            if awaiting_pong_since is None:
                pubsub.ping()
                awaiting_pong_since = time.monotonic()
            continue
        awaiting_pong_since = None  # anything received proves the connection alive
        if message.get("type") == "message":
            yield message


def _close_quietly(pubsub) -> None:
    try:
        pubsub.close()
    except Exception:
        log.debug("closing a broken subscription failed", exc_info=True)
