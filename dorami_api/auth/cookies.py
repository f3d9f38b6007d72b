"""The token cookies: HttpOnly, SameSite=Lax, Secure in production, max-age = the
token's lifetime. The refresh cookie is only sent to the auth routes that use it."""

from __future__ import annotations

import math
from datetime import datetime

from flask import current_app
from flask.wrappers import Response

from dorami_api.auth.tokens import ACCESS_COOKIE, REFRESH_COOKIE, TokenPair
from dorami_api.db.types import utcnow

ACCESS_PATH = "/"
REFRESH_PATH = "/api/v1/auth"


def _seconds_until(moment: datetime) -> int:
    # Rounded up: `exp` is whole seconds, and a cookie must not die before its token.
    return max(0, math.ceil((moment - utcnow()).total_seconds()))


def set_auth_cookies(response: Response, pair: TokenPair) -> Response:
    secure = current_app.config["DORAMI"].is_production
    for name, value, path, expires_at in (
        (ACCESS_COOKIE, pair.access_token, ACCESS_PATH, pair.access_expires_at),
        (REFRESH_COOKIE, pair.refresh_token, REFRESH_PATH, pair.refresh_expires_at),
    ):
        response.set_cookie(
            name,
            value,
            max_age=_seconds_until(expires_at),
            path=path,
            secure=secure,
            httponly=True,
            samesite="Lax",
        )
    return response


def clear_auth_cookies(response: Response) -> Response:
    secure = current_app.config["DORAMI"].is_production
    for name, path in ((ACCESS_COOKIE, ACCESS_PATH), (REFRESH_COOKIE, REFRESH_PATH)):
        response.delete_cookie(name, path=path, secure=secure, httponly=True, samesite="Lax")
    return response
