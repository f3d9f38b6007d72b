"""Background timers for broadcasts that go out later (coalesced, paced): a Socket.IO background
task — a greenlet in a gevent worker — or a thread elsewhere (the jobs process, which emits
through the Redis queue, or an app built in-process), so the same code runs in either. Threads are
counted so that a process can wait for them before it closes the database (finish_threads)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from dorami_api.extensions import socketio

log = logging.getLogger(__name__)

# Thread mode only: the timer threads still running, and the event that cuts their sleeps short
# when the process shuts down (finish_threads). A gevent worker's greenlets end with the worker.
_threads: set[threading.Thread] = set()
_hurry = threading.Event()


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


def _greenlet_server():
    """The socket server when it runs on greenlets (a gevent worker); None where timers are threads:
    no socket server (the jobs process) or one in threading mode (an app built in-process)."""
    server = getattr(socketio, "server", None)
    return server if server is not None and server.async_mode != "threading" else None


def spawn(target: Callable, *args) -> None:
    server = _greenlet_server()
    if server is not None:
        server.start_background_task(target, *args)
    else:
        thread = threading.Thread(target=_tracked, args=(target, args), name=f"timer:{target.__name__}", daemon=True)
        _threads.add(thread)
        thread.start()


def _tracked(target: Callable, args: tuple) -> None:
    try:
        target(*args)
    finally:
        _threads.discard(threading.current_thread())


def sleep(seconds: float) -> None:
    server = _greenlet_server()
    if server is not None:
        server.sleep(seconds)
    else:
        _hurry.wait(seconds)


def finish_threads(seconds: float) -> list[str]:
    """Wake every timer thread from its sleep and wait up to `seconds` for all to end; the names of
    those still running. Run it after the shutdown callbacks have flushed what the timers wait
    for, so that they wake to nothing left to send, and none runs after the database is closed."""
    deadline = time.monotonic() + seconds
    _hurry.set()
    try:
        # Until none is left: a timer may start another as it ends (a retry after a window).
        while (running := [thread for thread in list(_threads) if thread.is_alive()]) and time.monotonic() < deadline:
            for thread in running:
                thread.join(max(deadline - time.monotonic(), 0.0))
    finally:
        _hurry.clear()
    return sorted(thread.name for thread in list(_threads) if thread.is_alive())
