"""Public read-only routes run their statements outside a transaction.

psycopg2 opens a transaction with its own `BEGIN` round trip before the first statement, and the
session ends it with a `ROLLBACK` round trip at teardown: two of the three round trips of a route
that reads one row. At PostgreSQL's READ COMMITTED (ours) every statement takes its own snapshot
anyway, so plain SELECTs see exactly the same data in autocommit mode. Only for code that writes
nothing and locks nothing. The switch is psycopg2's client-side `autocommit` flag (SQLAlchemy's
AUTOCOMMIT isolation level would cost a round trip of its own to reset), set back when the
connection returns to the pool.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.pool import Pool

from dorami_api.extensions import db

_READING = "dorami_autocommit_read"


def read_without_transaction() -> bool:
    """From here on, this request's session reads in autocommit mode — if it has not begun a
    transaction yet (otherwise, or on SQLite, nothing changes). True when it switched: the caller
    that goes on to write must end the session's transaction first (`db.session.rollback()`, no
    round trip here), which returns the connection and restores transactions."""
    session = db.session()
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return False
    pooled = session.connection().connection
    pooled.dbapi_connection.autocommit = True
    pooled.info[_READING] = True
    return True


def init_app(_app) -> None:
    """Install the pool listener that restores transactions (on every pool: once per process)."""
    if not event.contains(Pool, "checkin", _back_to_transactions):
        event.listen(Pool, "checkin", _back_to_transactions)


def _back_to_transactions(dbapi_connection, record) -> None:
    if record is None or not record.info.pop(_READING, False) or dbapi_connection is None:
        return
    try:
        dbapi_connection.autocommit = False
    except Exception:  # a broken connection: the pool must not hand it out again
        record.invalidate()
