"""The transaction runner: run a unit of work and commit it as one transaction, retrying what
PostgreSQL refuses only for ordering reasons (deadlock, serialization failure, lock timeout).

Every PostgreSQL connection waits at most LOCK_TIMEOUT_MS for a row lock, so a buyer queued behind
a flash sale is answered 503 SERVICE_BUSY with Retry-After instead of waiting for ever.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dorami_api.errors import service_busy
from dorami_api.extensions import db

log = logging.getLogger(__name__)

# A buyer queued behind a flash sale waits at most this long for the product lock.
LOCK_TIMEOUT_MS = 8000
# deadlock, serialization failure, lock timeout: the transaction is safe to run again.
RETRYABLE_PGCODES = {"40P01", "40001", "55P03"}
BUSY_MESSAGE = "Too many requests for this product right now; try again"

T = TypeVar("T")


def init_app(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        with app.app_context():
            event.listen(db.engine, "connect", _set_lock_timeout)


def _set_lock_timeout(dbapi_connection, _record) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
    dbapi_connection.commit()


def retryable(error: BaseException) -> bool:
    code = getattr(getattr(error, "orig", None), "pgcode", None)
    return code in RETRYABLE_PGCODES


def release_connection() -> None:
    """End the read-only transaction of the request so far (authentication, prechecks), giving
    its connection back to the pool before queueing."""
    db.session.commit()


def atomic(work: Callable[[], T], attempts: int = 3, gate: Callable[[], AbstractContextManager] | None = None) -> T:
    """Run work() and commit, as one transaction. A deadlock, serialization failure or lock
    timeout rolls everything back and runs work() again from the start (it must re-read what it
    needs); after the last attempt, or when no database connection frees up in time, the caller
    gets 503 SERVICE_BUSY with Retry-After rather than a 500.

    gate: makes (anew for each attempt) a context held while work() runs and released before
    COMMIT — the in-process gate of a hot product: the next buyer's lock request is already
    queued when this one commits, and the after-commit broadcasts run outside it."""
    for attempt in range(1, attempts + 1):
        try:
            if gate is None:
                result = work()
            else:
                with gate():
                    result = work()
                    db.session.flush()
            db.session.commit()
            return result
        except DBAPIError as error:
            db.session.rollback()
            if not retryable(error):
                raise
            log.warning("transaction retried after %s (attempt %d)", error.orig.pgcode, attempt)
            if attempt == attempts:
                raise service_busy(BUSY_MESSAGE) from None
            time.sleep(random.uniform(0.01, 0.05) * attempt)
        except PoolTimeout:
            db.session.rollback()
            raise service_busy(BUSY_MESSAGE) from None
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")  # pragma: no cover
