"""Field types shared by request and response schemas: money, UTC times, pagination, plain text.

Money travels as a two-place decimal string ("29.50"). Requests may send a string or a JSON
number with at most two decimal places; either becomes a Decimal at once, never a float in the
arithmetic. Times must carry a timezone and are normalised to UTC; a date or a time is written as
ISO 8601 text (a number, or text such as "0.5" that pydantic would read as a Unix time, is a 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
    field_validator,
)

from dorami_api.db.types import CENT
from dorami_api.web.plain_text import NotPlainText, plain_text
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


_ISO_DATE_START = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso(adapter: TypeAdapter) -> Callable[[Any], Any]:
    """Text in ISO 8601 only, parsed by pydantic (its lax parser, which alone would also read
    numbers and numeric text as Unix times)."""

    def parse(value: Any) -> Any:
        if not isinstance(value, str) or not _ISO_DATE_START.match(value):
            raise ValueError("must be an ISO 8601 date or date-time, such as 2026-01-31T18:00:00Z")
        try:
            return adapter.validate_python(value)
        except ValidationError as error:
            raise ValueError(error.errors(include_url=False)[0]["msg"]) from None

    return parse


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_iso(TypeAdapter(AwareDatetime))), AfterValidator(_to_utc)]

# A day or a moment (list filters): 2026-01-31 or 2026-01-31T18:00:00Z.
DateOrDatetime = Annotated[date | datetime, BeforeValidator(_iso(TypeAdapter(date | datetime)))]

# Responses: ISO-8601 UTC with a Z.
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]

# Input may be longer than what is kept (markup goes), but not without bound.
# One line of text with something visible in it: no control character (a newline neither), and
# at least one character that is not a space nor invisible (those are trimmed or dropped).
_CONTROLS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_INVISIBLES = r"\u061c\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff"
PLAIN_LINE_PATTERN = f"^[^{_CONTROLS}]*[^\\s{_CONTROLS}{_INVISIBLES}][^{_CONTROLS}]*$"
_RAW_LENGTH_FACTOR = 4


def plain_line(max_length: int) -> Any:
    """A one-line text field others will see (a name, an address line): cleaned by plain_text,
    then 1 to `max_length` characters. A control character (a newline too) is a 400."""

    def clean(value: str) -> str:
        try:
            text = plain_text(value)
        except NotPlainText as error:
            raise ValueError(str(error)) from None
        if not text:
            raise ValueError("must not be empty once markup is removed")
        if len(text) > max_length:
            raise ValueError(f"must be at most {max_length} characters once markup is removed")
        return text

    return Annotated[
        str,
        Field(
            min_length=1,
            max_length=max_length * _RAW_LENGTH_FACTOR,
            description=f"Plain text: markup and invisible characters are removed, then 1-{max_length} characters",
            # The document states what is kept: at most `max_length` characters, one line, not blank.
            json_schema_extra={"maxLength": max_length, "pattern": PLAIN_LINE_PATTERN},
        ),
        AfterValidator(clean),
    ]


# The name other people see (chat, purchase notices, the admin's lists) and the like.
DisplayName = plain_line(100)

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
    """The `data` of a paginated list of `item` (see web.responses.page_of)."""
    assert issubclass(item, BaseModel)
    return create_model(
        f"{item.__name__}Page",
        items=(list[item], ...),
        page=(int, ...),
        limit=(int, ...),
        total=(int, ...),
        totalPages=(int, ...),
    )
