"""Run a blocking check with a deadline, in a gevent worker or a plain threaded server."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None


def _gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover
        return False
    return monkey.is_module_patched("socket")


def call_with_deadline(fn: Callable[[], T], seconds: float) -> T:
    """Return fn()'s result, or raise TimeoutError after `seconds`.

    Under gevent the greenlet itself is interrupted (psycopg2 waits cooperatively, so its
    connection is abandoned and SQLAlchemy invalidates it); elsewhere a helper thread runs
    fn and is left behind if it hangs.
    """
    if _gevent_patched():
        import gevent

        try:
            with gevent.Timeout(seconds):
                return fn()
        except gevent.Timeout:
            raise TimeoutError(f"no answer within {seconds}s") from None
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="deadline")
    future = _executor.submit(fn)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        raise TimeoutError(f"no answer within {seconds}s") from None
