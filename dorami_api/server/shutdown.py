"""The graceful shutdown sequence of a server process (in this order):

1. stop accepting connections                       (the worker)
2. tell connected sockets and close them            notify_shutdown(): the registered callbacks
3. let in-flight HTTP requests finish               (the worker)
4. close Redis                                      close_redis(app)
5. close the HTTP server                            (the worker)
6. close the database                               close_database(app)

Other packages hook into step 2 with register() from their init_app (the steps are the app's, in
`app.extensions["shutdown"]`); the realtime layer registers the callback that
emits `server:shutdown` to this process's sockets and disconnects them, so that clients
reconnect to another process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import gevent

from dorami_api.concurrency import gevent_patched

log = logging.getLogger(__name__)

# One hung callback must not eat the whole 30 s budget of the shutdown.
CALLBACK_SECONDS = 10.0


def init_app(app) -> None:
    app.extensions["shutdown"] = []  # (name, callback), in registration order


def register(app, name: str, callback: Callable[[], object]) -> None:
    """Run `callback()` when the process serving `app` starts its graceful shutdown, in
    registration order. Registering a name again replaces its callback in place."""
    callbacks = app.extensions["shutdown"]
    for index, (existing, _) in enumerate(callbacks):
        if existing == name:
            callbacks[index] = (name, callback)
            return
    callbacks.append((name, callback))


def registered(app) -> list[str]:
    return [name for name, _ in app.extensions["shutdown"]]


def _bounded(callback: Callable[[], object], seconds: float) -> None:
    if gevent_patched():
        with gevent.Timeout(seconds, TimeoutError(f"still running after {seconds}s")):
            callback()
    else:
        callback()


def notify_shutdown(app, logger: logging.Logger | logging.LoggerAdapter | None = None) -> list[str]:
    """Step 2: run every callback `app` registered; a failing one is logged and the others still run."""
    logger = logger or log
    done = []
    for name, callback in list(getattr(app, "extensions", {}).get("shutdown", ())):
        try:
            _bounded(callback, CALLBACK_SECONDS)
            done.append(name)
        except Exception as error:
            logger.warning("shutdown callback %s failed: %s: %s", name, type(error).__name__, error)
    return done


def close_redis(app, logger: logging.Logger | logging.LoggerAdapter | None = None) -> None:
    """Step 4: close the app's Redis connections (the pools reconnect if used again)."""
    redis_store = getattr(app, "extensions", {}).get("redis")
    for client in (getattr(redis_store, "_client", None), getattr(redis_store, "health_client", None)):
        if client is None:
            continue
        try:
            client.close()
        except Exception as error:
            (logger or log).warning("closing Redis failed: %s", type(error).__name__)


def close_database(app, logger: logging.Logger | logging.LoggerAdapter | None = None) -> None:
    """Step 6: return every pooled database connection."""
    if not hasattr(app, "app_context"):
        return
    try:
        with app.app_context():
            for engine in app.extensions["sqlalchemy"].engines.values():
                engine.dispose()
            for close in app.extensions.get("close_with_database", ()):
                close()
    except Exception as error:
        (logger or log).warning("closing the database failed: %s", type(error).__name__)
