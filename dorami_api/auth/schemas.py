"""Request schemas of the auth routes (validation and OpenAPI)."""

from __future__ import annotations

from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from dorami_api.web.fields import DisplayName, Timestamp
from dorami_api.web.validation import Schema


def _email(value: str) -> str:
    # No DNS lookups; the reserved `.test` domain stays usable for test and demo accounts.
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized.lower()
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None


Email = Annotated[str, Field(max_length=320, json_schema_extra={"format": "email"}), AfterValidator(_email)]


class Registration(Schema):
    email: Email
    password: str = Field(min_length=10, max_length=256)
    name: DisplayName


class Credentials(Schema):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=256)


class DevLogin(Schema):
    email: Email
    name: DisplayName | None = None


class RefreshRequest(Schema):
    # Empty is refused rather than read as "use the cookie": CSRF exempts a body token only.
    refresh_token: str | None = Field(None, alias="refreshToken", min_length=1, max_length=4096)


class SignedIn(BaseModel):
    """The answer of every sign-in (register, login, dev-login, refresh); the same tokens are
    also set as HttpOnly cookies for web clients."""

    model_config = ConfigDict(extra="forbid")
    accessToken: str
    refreshToken: str
    accessTokenExpiresAt: Timestamp
    user: dict[str, Any] = Field(description="The profile, as GET /users/me returns it")
