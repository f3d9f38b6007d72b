"""Background timers for broadcasts that go out later (coalesced, paced): a Socket.IO background
task — a greenlet in a gevent worker — or a thread where no socket server runs (the jobs process
emits through the Redis queue without one), so the same code runs in either."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from dorami_api.extensions import socketio

log = logging.getLogger(__name__)


class LateLock:
    """A lock made on first use, not at import: by then gevent has monkey-patched `threading`, so a
    greenlet waiting for it yields to the others instead of blocking its whole worker."""

    def __init__(self) -> None:
        self._lock: threading.Lock | None = None

    def __enter__(self) -> None:
        if self._lock is None:  # two first users racing may make two: harmless, one is kept
            self._lock = threading.Lock()
        self._lock.acquire()

    def __exit__(self, *_exc) -> None:
        self._lock.release()


def run_safely(run: Callable[[], None]) -> None:
    try:
        run()
    except Exception:  # a late broadcast must never take its timer (or the shutdown) down
        log.exception("delayed broadcast failed")


def _socket_server():
    return socketio if getattr(socketio, "server", None) is not None else None


def spawn(target: Callable, *args) -> None:
    server = _socket_server()
    if server is not None:
        server.start_background_task(target, *args)
    else:
        threading.Thread(target=target, args=args, daemon=True).start()


def sleep(seconds: float) -> None:
    server = _socket_server()
    if server is not None:
        server.sleep(seconds)
    else:
        time.sleep(seconds)
