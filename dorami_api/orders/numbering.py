"""ORD-YYYYMMDD-NNNNN order numbers from a per-day counter in PostgreSQL (SPEC §1): it survives a
Redis flush, and the upsert hands every caller a distinct number, in any number of processes.

Every order of the day increments the same row, so the number is taken in a short transaction of
its own, before the order's product locks: the counter row is never held while queueing on a
product, nor for the whole order. An order refused or rolled back afterwards leaves a gap in the
day's numbers (numbers are unique and increasing, not dense)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from dorami_api.common.db_types import utcnow
from dorami_api.extensions import db

_NEXT = sa.text(
    "INSERT INTO order_day_counters (day, last_value) VALUES (:day, 1) "
    "ON CONFLICT (day) DO UPDATE SET last_value = order_day_counters.last_value + 1 "
    "RETURNING last_value"
)


def take_order_id(day: date | None = None) -> str:
    """Take the next number and COMMIT at once. Call with nothing else pending in the session.

    The commit does not wait for the disk (synchronous_commit off for this transaction only): if a
    crash lost it, it lost no order either — an order using the number commits later, and its
    durable commit makes every earlier WAL record durable too."""
    day = day or utcnow().date()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
    value = db.session.execute(_NEXT, {"day": day}).scalar_one()
    db.session.commit()
    return f"ORD-{day:%Y%m%d}-{value:05d}"
