"""ORD-YYYYMMDD-NNNNN order numbers from a per-day counter in PostgreSQL (SPEC §1): it survives a
Redis flush, and the upsert hands every caller a distinct number, in any number of processes."""

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


def next_order_id(day: date | None = None) -> str:
    """Call as late as possible in the order's transaction: the counter row stays locked until
    commit, so every order of the day queues on it."""
    day = day or utcnow().date()
    value = db.session.execute(_NEXT, {"day": day}).scalar_one()
    return f"ORD-{day:%Y%m%d}-{value:05d}"
