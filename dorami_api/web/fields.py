"""Field types shared by request and response schemas: money, UTC times, pagination.

Money travels as a two-place decimal string ("29.50"). Requests may send a string or a JSON
number with at most two decimal places; either becomes a Decimal at once, never a float in the
arithmetic. Times must carry a timezone and are normalised to UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    PlainValidator,
    WithJsonSchema,
    create_model,
    field_validator,
)

from dorami_api.db.types import CENT
from dorami_api.web.validation import Schema

MONEY_MAX = Decimal("99999999.99")  # NUMERIC(10,2)
MONEY_PATTERN = r"^\d{1,8}(\.\d{1,2})?$"


def parse_money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError('must be a decimal string such as "29.50" or a number')
    # A JSON number arrives as a float: its shortest repr is exactly what the client wrote.
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError('must be a decimal string such as "29.50"') from None
    if not amount.is_finite():
        raise ValueError("must be a finite amount")
    if amount.as_tuple().exponent < -2:
        raise ValueError("must have at most two decimal places")
    if amount < 0:
        raise ValueError("must not be negative")
    if amount > MONEY_MAX:
        raise ValueError(f"must be at most {MONEY_MAX}")
    return amount.quantize(CENT)


MoneyIn = Annotated[
    Decimal,
    PlainValidator(parse_money),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": MONEY_PATTERN, "examples": ["29.50"]},
                {"type": "number", "minimum": 0, "maximum": float(MONEY_MAX), "multipleOf": 0.01},
            ],
            "description": 'Amount with at most two decimal places, preferably as a string ("29.50")',
        }
    ),
]

# Responses: always a string with exactly two places.
MoneyOut = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["29.50"])]


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

# Responses: ISO-8601 UTC with a Z.
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]

PAGE_MAX = 100_000
LIMIT_CAP = 100


class PageQuery(Schema):
    """?page&limit: page from 1, limit from 1 and capped (a larger limit is served as the cap)."""

    page: int = Field(1, ge=1, le=PAGE_MAX)
    limit: int = Field(20, ge=1, le=1_000_000, description=f"Items per page, at most {LIMIT_CAP} are returned")

    @field_validator("limit")
    @classmethod
    def _cap(cls, value: int) -> int:
        return min(value, LIMIT_CAP)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def page_schema(item: type) -> type:
    """The `data` of a paginated list of `item` (see common.responses.page_of)."""
    assert issubclass(item, BaseModel)
    return create_model(
        f"{item.__name__}Page",
        items=(list[item], ...),
        page=(int, ...),
        limit=(int, ...),
        total=(int, ...),
        totalPages=(int, ...),
    )
