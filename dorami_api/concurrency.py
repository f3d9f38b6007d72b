"""What differs between a gevent worker and a plain process (the jobs worker, the test client):
whether gevent has patched this process, running a blocking check with a deadline, and running a
deep call off a long-lived greenlet."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

import gevent
from gevent import monkey

T = TypeVar("T")


def gevent_patched() -> bool:
    """True in a process gevent has monkey-patched (gunicorn's workers, `python -m dorami_api`):
    blocking calls there yield to the other greenlets, and locks made now are gevent's."""
    return monkey.is_module_patched("socket")


@functools.cache
def _deadline_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="deadline")


def call_with_deadline(fn: Callable[[], T], seconds: float) -> T:
    """Return fn()'s result, or raise TimeoutError after `seconds`.

    Under gevent the greenlet itself is interrupted (psycopg2 waits cooperatively, so its
    connection is abandoned and SQLAlchemy invalidates it); elsewhere a helper thread runs
    fn and is left behind if it hangs.
    """
    if gevent_patched():
        try:
            with gevent.Timeout(seconds):
                return fn()
        except gevent.Timeout:
            raise TimeoutError(f"no answer within {seconds}s") from None
    future = _deadline_threads().submit(fn)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        raise TimeoutError(f"no answer within {seconds}s") from None


def call_in_own_greenlet(fn: Callable[..., T], *args) -> T:
    """fn(*args) in a greenlet of its own, waited for: its result, or its exception raised here.

    Under gevent each greenlet keeps, for its whole life, every page of its Python frame stack
    that it has ever touched (CPython 3.11 gives a greenlet its own data-stack chunk and never
    gives pages of it back while it lives). A socket's reader greenlet lives as long as the
    socket, so a deep call made on it once (a socket's connect) would cost its memory for hours;
    the chunk of a greenlet that ends is unmapped when it ends. The caller's context variables
    (Flask's app and request context among them) are copied in; the caller waits, so nothing uses
    them at the same time. Elsewhere (threads) fn is simply called.
    """
    if not gevent_patched():
        return fn(*args)
    context = contextvars.copy_context()

    def run() -> tuple[bool, object]:
        # Returned rather than raised: gevent prints the traceback of a greenlet that dies with
        # an exception, and a refused connect is not an error.
        try:
            return True, context.run(fn, *args)
        except Exception as error:  # noqa: BLE001 - re-raised in the caller below
            return False, error

    succeeded, outcome = gevent.spawn(run).get()
    if not succeeded:
        raise outcome
    return outcome
