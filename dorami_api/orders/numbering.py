"""ORD-YYYYMMDD-NNNNN order numbers from a per-day counter in PostgreSQL: it survives a
Redis flush, and the upsert hands every caller a distinct number, in any number of processes.

Every order of the day increments the same row, so the number is taken in a short transaction of
its own, before the order's product locks: the counter row is never held while queueing on a
product, nor for the whole order. An order refused or rolled back afterwards leaves a gap in the
day's numbers (numbers are unique and increasing, not dense)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Flask, current_app

from dorami_api.db.types import utcnow
from dorami_api.extensions import db

# Takes `count` numbers at once: the last of them is returned.
_NEXT = sa.text(
    "INSERT INTO order_day_counters (day, last_value) VALUES (:day, :count) "
    "ON CONFLICT (day) DO UPDATE SET last_value = order_day_counters.last_value + :count "
    "RETURNING last_value"
)


def take_order_id(day: date | None = None) -> str:
    return take_order_ids(1, day)[0]


def take_order_ids(count: int, day: date | None = None) -> list[str]:
    """Take the next `count` numbers, in increasing order, in a transaction of their own,
    committed at once, on a connection of its own (the caller's transaction and its connection are
    left alone: a buyer at the product's gate keeps the one it holds instead of queueing at the
    pool for another). A batch of buyers of one product (orders/batch_sale.py) takes one block in
    one round trip.

    The commit does not wait for the disk (synchronous_commit off for this transaction only): if a
    crash lost it, it lost no order either — an order using the number commits after it, and that
    durable commit makes every earlier WAL record durable too."""
    day = day or utcnow().date()
    values = {"day": day, "count": count}
    if db.engine.dialect.name != "postgresql":  # SQLite, single writer: in the caller's transaction
        last = db.session.execute(_NEXT, values).scalar_one()
    else:
        with _engine().connect() as connection:
            last = connection.execute(_NEXT_NO_FSYNC, values).scalar_one()
            connection.commit()
    return [f"ORD-{day:%Y%m%d}-{value:05d}" for value in range(last - count + 1, last + 1)]


_NEXT_NO_FSYNC = sa.text("SET LOCAL synchronous_commit TO OFF; " + _NEXT.text)  # one round trip


def init_app(app: Flask) -> None:
    """A small pool of the app's own for the counter: at most two connections, PostgreSQL's
    max_connections is shared by every process. Closed with the app's database (server/shutdown.py)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        return
    # No pre-ping (a round trip per order at the product's gate): a connection the server
    # dropped fails one order with 503 and is replaced.
    options = {"connect_args": {"connect_timeout": 5, "application_name": "dorami-api-numbers"}}
    engine = sa.create_engine(url, pool_size=1, max_overflow=1, pool_timeout=10, pool_recycle=1800, **options)
    app.extensions["order_numbers"] = engine
    app.extensions.setdefault("close_with_database", []).append(engine.dispose)


def _engine() -> sa.Engine:
    return current_app.extensions["order_numbers"]
