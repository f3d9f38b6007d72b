"""HTTP hardening: the client address behind PROXY_HOPS trusted proxies, CORS for the
configured origins only (with credentials), and the security headers on every response."""

from __future__ import annotations

import functools

from flask import Flask, g, request
from flask.wrappers import Response
from werkzeug.middleware.proxy_fix import ProxyFix

from dorami_api.auth.tokens import ACCESS_COOKIE, REFRESH_COOKIE
from dorami_api.extensions import cors

CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
EXPOSED_HEADERS = ["X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"]
ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-CSRF-Token", "Idempotency-Key", "X-Request-Id"]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
FIXED_HEADERS = (("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    if config.proxy_hops:
        # X-Forwarded-For/-Proto/-Host are believed only from the configured number of proxies
        # (the Host one decides the Socket.IO same-origin check: our nginx overwrites it).
        hops = config.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    cors.init_app(
        app,
        resources={r"/api/*": {"origins": list(config.cors_origins)}},
        supports_credentials=True,
        always_send=False,
        expose_headers=EXPOSED_HEADERS,
        allow_headers=ALLOWED_HEADERS,
        methods=METHODS,
        max_age=600,
    )
    fixed = [*FIXED_HEADERS, ("Strict-Transport-Security", HSTS)] if config.is_production else FIXED_HEADERS
    app.after_request(functools.partial(_security_headers, tuple(fixed)))


# Our own after_request rather than flask-talisman, which cannot say exactly this: it sends HSTS
# only on requests it sees as HTTPS (TLS ends at the proxy here, and PROXY_HOPS may be 0), lets a
# route change its policy only through its own decorator (our docs page sets the header itself),
# and would add what an API must not do (redirecting HTTP to HTTPS, rewriting cookie flags).
# The no-store rule for authenticated responses is ours either way.
def _security_headers(fixed: tuple[tuple[str, str], ...], response: Response) -> Response:
    headers = response.headers
    # A route that serves HTML (the API docs page) may set its own policy.
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    for name, value in fixed:  # the app's, decided once in init_app
        headers[name] = value
    if _authenticated(response):
        # Personal data and tokens must not sit in a shared or browser cache.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def _authenticated(response: Response) -> bool:
    if g.get("principal") is not None or request.headers.get("Authorization"):
        return True
    if request.cookies.get(ACCESS_COOKIE) or request.cookies.get(REFRESH_COOKIE):
        return True
    token_cookies = (f"{ACCESS_COOKIE}=", f"{REFRESH_COOKIE}=")
    return any(cookie.startswith(token_cookies) for cookie in response.headers.getlist("Set-Cookie"))
