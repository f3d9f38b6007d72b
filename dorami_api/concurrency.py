"""What differs between a gevent worker and a plain process (the jobs worker, the test client):
whether gevent has patched this process, and running a blocking check with a deadline."""

from __future__ import annotations

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
