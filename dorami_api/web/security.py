"""HTTP hardening: the client address behind PROXY_HOPS trusted proxies, CORS for the
configured origins only (with credentials), and the security headers on every response."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from werkzeug.middleware.proxy_fix import ProxyFix

from dorami_api.auth.tokens import ACCESS_COOKIE, REFRESH_COOKIE
from dorami_api.extensions import cors

CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
EXPOSED_HEADERS = ["X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"]
ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-CSRF-Token", "Idempotency-Key", "X-Request-Id"]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    if config.proxy_hops:
        # X-Forwarded-For/-Proto are believed only from the configured number of proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxy_hops, x_proto=config.proxy_hops)
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
    app.after_request(_security_headers)


# Our own after_request rather than flask-talisman, which cannot say exactly this: it sends HSTS
# only on requests it sees as HTTPS (TLS ends at the proxy here, and PROXY_HOPS may be 0), lets a
# route change its policy only through its own decorator (our docs page sets the header itself),
# and would add what an API must not do (redirecting HTTP to HTTPS, rewriting cookie flags).
# The no-store rule for authenticated responses is ours either way.
def _security_headers(response: Response) -> Response:
    headers = response.headers
    # A route that serves HTML (the API docs page) may set its own policy.
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    if current_app.config["DORAMI"].is_production:
        headers["Strict-Transport-Security"] = HSTS
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
