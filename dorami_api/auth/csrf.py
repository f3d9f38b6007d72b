"""CSRF for cookie-authenticated requests, on Flask-WTF's token machinery.

A browser sends cookies by itself, so an unsafe request (POST/PUT/PATCH/DELETE) that carries an
auth cookie must also carry `X-CSRF-Token`, equal to the JS-readable `csrf-token` cookie and a
valid Flask-WTF token (signed with the app secret, bound to the HttpOnly session cookie, 24 h).
Requests with an `Authorization` header are exempt: a browser never adds one by itself (and
CORS guards cross-origin headers) — except the refresh route, which reads the refresh cookie
whatever other header comes along: it is exempt only when the refresh token is in the body.
Requests without any credential have nothing to forge — a native client's login or register
works without the dance. Exactly one mechanism runs per
request: Flask-WTF's own before-request check is switched off (WTF_CSRF_CHECK_DEFAULT=False)
and this module decides; views marked with `csrf.exempt` stay exempt.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request, Response
from flask_wtf.csrf import generate_csrf, validate_csrf
from itsdangerous import URLSafeTimedSerializer
from wtforms.validators import ValidationError

from dorami_api.auth.tokens import ACCESS_COOKIE, REFRESH_COOKIE
from dorami_api.errors import ApiError
from dorami_api.extensions import csrf

CSRF_COOKIE = "csrf-token"
CSRF_HEADER = "X-CSRF-Token"
TOKEN_LIFETIME = timedelta(hours=24)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Probes and scrapers do not need a browser token.
NO_COOKIE_BLUEPRINTS = frozenset({"health", "metrics"})


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    app.config.update(
        WTF_CSRF_ENABLED=config.csrf_enabled,
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=int(TOKEN_LIFETIME.total_seconds()),
        SESSION_COOKIE_NAME="dorami-session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.is_production,
        PERMANENT_SESSION_LIFETIME=TOKEN_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.session_interface = SessionCookie()
    csrf.init_app(app)
    app.before_request(check_csrf)
    app.after_request(issue_csrf_cookie)


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed session cookie (it carries the CSRF token's secret half), the same cookie, with
    its signing serializer made once per app and secret instead of twice per request (Flask builds
    one to open the session and one to save it, even for a request without the cookie). A request
    without the cookie opens an empty session without any."""

    def __init__(self) -> None:
        self._keys: tuple | None = None
        self._serializer: URLSafeTimedSerializer | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        if keys != self._keys:  # the first request, or a secret changed in the config
            self._serializer = super().get_signing_serializer(app)
            self._keys = keys
        return self._serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


REFRESH_ENDPOINT = "auth.refresh"


def cookie_authenticated() -> bool:
    """True when the request's credentials are cookies (an Authorization header wins, except
    on the refresh route, where only a refresh token in the body does)."""
    if not (request.cookies.get(ACCESS_COOKIE) or request.cookies.get(REFRESH_COOKIE)):
        return False
    if request.endpoint == REFRESH_ENDPOINT:
        return not _refresh_token_in_body()
    return not request.headers.get("Authorization")


def _refresh_token_in_body() -> bool:
    payload = request.get_json(silent=True)  # cached: the route reads the same parse
    token = payload.get("refreshToken") if isinstance(payload, dict) else None
    return isinstance(token, str) and bool(token.strip())


def check_csrf() -> None:
    if not current_app.config["WTF_CSRF_ENABLED"] or request.method not in UNSAFE_METHODS:
        return
    if not cookie_authenticated() or (request.endpoint and csrf._is_exempt()):
        return
    header = request.headers.get(CSRF_HEADER)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not header or not cookie:
        raise ApiError(403, "CSRF_TOKEN_MISSING", "Send the csrf-token cookie's value in the X-CSRF-Token header")
    # Header values arrive as Latin-1 text; a token is ASCII, and compare_digest takes no other str.
    if not (header.isascii() and cookie.isascii()) or not hmac.compare_digest(header, cookie) or not _valid(header):
        raise ApiError(403, "CSRF_TOKEN_INVALID", "The CSRF token is invalid or expired; fetch a new one")


def _valid(token: str) -> bool:
    try:
        validate_csrf(token)
    except ValidationError:
        return False
    return True


def current_csrf_token() -> str:
    """The caller's valid token, or a new one (set as the cookie when the response leaves)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and _valid(existing):
        return existing
    if "new_csrf_token" not in g:
        session.permanent = True  # the session cookie lives as long as the token
        g.new_csrf_token = generate_csrf()
    return g.new_csrf_token


def issue_csrf_cookie(response: Response) -> Response:
    # A client that authenticates with the Authorization header never needs the cookie (CSRF
    # applies to cookie-authenticated requests only), and signing a fresh token for each of its
    # requests was a measurable share of a signed-in read.
    wants_cookie = (
        request.method in ("GET", "HEAD") and request.endpoint is not None and "Authorization" not in request.headers
    )
    if wants_cookie and current_app.config["WTF_CSRF_ENABLED"] and request.blueprint not in NO_COOKIE_BLUEPRINTS:
        current_csrf_token()
    if "new_csrf_token" in g:
        response.set_cookie(
            CSRF_COOKIE,
            g.new_csrf_token,
            max_age=int(TOKEN_LIFETIME.total_seconds()),
            path="/",
            secure=current_app.config["DORAMI"].is_production,
            httponly=False,  # the web client reads it and echoes it in X-CSRF-Token
            samesite="Lax",
        )
    return response
