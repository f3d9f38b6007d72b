"""Column types shared by the models, portable between PostgreSQL and the embedded SQLite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """timestamptz on PostgreSQL; always hands back timezone-aware UTC datetimes (SQLite stores
    naive values, which are UTC by construction here)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Money: NUMERIC(10,2), travels as a two-place decimal string, never a float.
Money = sa.Numeric(10, 2, asdecimal=True)
CENT = Decimal("0.01")


def money_str(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(CENT))


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


def utcnow() -> datetime:
    return datetime.now(UTC)


def enum_column(*values: str, name: str) -> sa.Enum:
    """A string column limited to `values` by a CHECK constraint (no PostgreSQL ENUM type, so
    adding a value is a plain migration)."""
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)
