"""Route guards: `login_required` and `admin_required`. The token comes from
`Authorization: Bearer` or the `accessToken` cookie; `g.auth_via` records which, because CSRF
applies only to cookie-authenticated requests."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable

from flask import g, request

from dorami_api.auth import remembered_sessions
from dorami_api.auth.principal import Principal
from dorami_api.auth.tokens import ACCESS_COOKIE, bearer_token
from dorami_api.errors import ApiError, Forbidden


def request_token() -> tuple[str | None, str | None]:
    """(token, 'bearer' | 'cookie' | None) for the current request."""
    header = request.headers.get("Authorization", "")
    if header:
        token = bearer_token(header)
        if token is None:
            raise ApiError(401, "UNAUTHORIZED", "Authorization must be 'Bearer <token>'")
        return token, "bearer"
    cookie = request.cookies.get(ACCESS_COOKIE)
    if cookie:
        return cookie, "cookie"
    return None, None


def authenticate_request() -> Principal:
    if "principal" not in g:
        token, via = request_token()
        # What the rate limiter's script read of this token's session, if it ran (one round trip).
        g.principal = remembered_sessions.authenticate(token, g.pop("session_lookup", None))
        g.auth_via = via
    return g.principal


def current_principal() -> Principal | None:
    return g.get("principal")


def current_user_id() -> uuid.UUID:
    """The signed-in user's id, in a view behind login_required."""
    return uuid.UUID(g.principal.user_id)


def login_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        authenticate_request()
        return view(*args, **kwargs)

    _mark(wrapper, "user")
    return wrapper


def admin_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not authenticate_request().is_admin:
            raise Forbidden("FORBIDDEN", "Administrator role required")
        return view(*args, **kwargs)

    _mark(wrapper, "admin")
    return wrapper


def _mark(view: Callable, level: str) -> None:
    """Recorded for the OpenAPI document (security requirement) and route audits."""
    notes = dict(getattr(view, "__openapi__", {}))
    notes["auth"] = level
    view.__openapi__ = notes
