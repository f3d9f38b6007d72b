"""Request schemas of the user routes (validation and OpenAPI)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from dorami_api.web.fields import PAGE_MAX, DisplayName, plain_line
from dorami_api.web.validation import Schema

# The 50 states, DC, the inhabited territories and the military "states" the US Postal Service uses.
_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "
    "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP AA AE AP"
)
US_STATES = frozenset(_STATE_CODES.split(" "))
_INSTAGRAM = re.compile(r"^@[a-z0-9._]{1,30}$")
# What a client may send: the handle with any leading '@'s, any case (stored as '@' + lower case).
INSTAGRAM_PATTERN = r"^@*[A-Za-z0-9._]{1,30}$"
ZIP_PATTERN = r"^[0-9]{5}(-[0-9]{4})?$"
_SEPARATORS = r"[\s\-()]"
_PHONE = re.compile(r"^(\+1[0-9]{10}|1[0-9]{10}|[0-9]{10}|\+82[0-9]{8,11}|0[0-9]{8,11})$")
# The same numbers, with spaces, dashes and brackets anywhere (they are dropped before storing).
_S = f"{_SEPARATORS}*"
_D = f"(?:[0-9]{_S})"
PHONE_PATTERN = (
    f"^{_S}(\\+{_S}1{_S}{_D}{{10}}|1{_S}{_D}{{10}}|{_D}{{10}}|\\+{_S}8{_S}2{_S}{_D}{{8,11}}|0{_S}{_D}{{8,11}})$"
)
# Address lines reach admins and the courier: plain text only, like names.
AddressLine = plain_line(200)


def normalise_instagram_id(value: str) -> str:
    """'Dora.Shop' and '@dora.shop' are the same account: stored lower-case with one '@'."""
    handle = "@" + value.strip().lstrip("@").lower()
    if not _INSTAGRAM.match(handle):
        raise ValueError("instagramId must be 1-30 letters, digits, '.' or '_' (optionally prefixed with '@')")
    return handle


class ProfileUpdate(Schema):
    """Fields left out are unchanged; phone, instagramId and depositorName accept null to clear."""

    # Optional but not nullable: a default is never validated, an explicit null is a 400.
    name: DisplayName = None
    phone: str | None = Field(None, max_length=32, pattern=PHONE_PATTERN)
    instagram_id: str | None = Field(None, alias="instagramId", max_length=64, pattern=INSTAGRAM_PATTERN)
    depositor_name: DisplayName | None = Field(None, alias="depositorName")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = re.sub(_SEPARATORS, "", value)
        if not _PHONE.match(digits):
            raise ValueError("phone must be a US (+1) or Korean (+82 / 0..) number")
        return digits

    @field_validator("instagram_id")
    @classmethod
    def _instagram(cls, value: str | None) -> str | None:
        return None if value is None else normalise_instagram_id(value)


def _blank_allowed(schema: dict) -> None:
    """address2 may also be blank (a form's empty field), read as no second line."""
    schema["anyOf"].insert(1, {"type": "string", "pattern": r"^\s*$", "maxLength": 200})


class ShippingAddress(Schema):
    full_name: DisplayName = Field(alias="fullName")
    address1: AddressLine
    address2: AddressLine | None = Field(None, json_schema_extra=_blank_allowed)
    city: DisplayName
    state: str = Field(
        description="US two-letter state code (any case; stored upper-case)",
        json_schema_extra={"enum": sorted(US_STATES)},
    )
    zip: str = Field(pattern=ZIP_PATTERN, description="12345 or 12345-6789")

    @field_validator("address2", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        # A form's empty optional field: no second line.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("state")
    @classmethod
    def _state(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in US_STATES:
            raise ValueError("state must be a US two-letter state code")
        return code

    def stored(self) -> dict:
        """The JSON encrypted at rest and returned to its owner."""
        return {
            "fullName": self.full_name,
            "address1": self.address1,
            "address2": self.address2 or None,
            "city": self.city,
            "state": self.state,
            "zip": self.zip,
        }


class AdminUserQuery(Schema):
    search: str | None = Field(None, max_length=100)
    status: Literal["ACTIVE", "SUSPENDED"] | None = None
    page: int = Field(1, ge=1, le=PAGE_MAX)
    limit: int = Field(20, ge=1, le=100)


class UserStatusChange(Schema):
    status: Literal["ACTIVE", "SUSPENDED"]
    reason: str | None = Field(None, max_length=500)
