"""HTTP rate limits with Flask-Limiter on Redis, so that limits hold across workers and
hosts.

Identity: the user id of a valid access token, else the client IP (after ProxyFix has applied
PROXY_HOPS). Default tiers apply per route; login, register and refresh get the stricter auth
tier per IP, and login a per-account budget of failures. Health, metrics and CORS preflights are
never limited. A 429 answers in the error envelope with `Retry-After` and `details.retryAfter`.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from flask_limiter import Limiter, RateLimitExceeded

from dorami_api.auth import tokens
from dorami_api.auth.guards import request_token
from dorami_api.config import RedisTarget
from dorami_api.errors import error_response

EXEMPT_BLUEPRINTS = frozenset({"health", "metrics"})
STORAGE_OPTIONS = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    app.config.update(
        # Always explicit: the singleton limiter remembers the last app's value otherwise.
        RATELIMIT_ENABLED=config.ratelimit_enabled,
        RATELIMIT_STORAGE_URI=storage_uri(config.redis),
        RATELIMIT_STORAGE_OPTIONS=storage_options(config.redis),
        RATELIMIT_STRATEGY="fixed-window",
        RATELIMIT_HEADERS_ENABLED=True,
        # A Redis blip must not take the API down: count in memory until Redis is back.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
    )
    # after_request hooks run last-registered-first: the limiter's hook runs between these two.
    app.after_request(_settle_retry_after)
    limiter.init_app(app)
    app.after_request(_remember_retry_after)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def storage_uri(target: RedisTarget | None) -> str:
    """The `limits` storage URI for the configured Redis (memory:// in the embedded mode)."""
    if target is None:
        return "memory://"
    if not target.is_sentinel:
        return target.url
    hosts = ",".join(f"{host}:{port}" for host, port in target.sentinels)
    auth = f"{target.username or ''}:{target.password}@" if target.password else ""
    return f"redis+sentinel://{auth}{hosts}/{target.service}"


def storage_options(target: RedisTarget | None) -> dict:
    if target is None:
        return {}
    if target.is_sentinel:
        return {**STORAGE_OPTIONS, "db": target.db}
    return dict(STORAGE_OPTIONS)


def client_ip() -> str:
    return request.remote_addr or "unknown"


def client_key() -> str:
    """Per user when the request carries a valid access token, per IP otherwise."""
    if "rate_limit_key" not in g:
        user_id = _token_user_id()
        g.rate_limit_key = f"user:{user_id}" if user_id else f"ip:{client_ip()}"
    return g.rate_limit_key


def _token_user_id() -> str | None:
    # Signature, expiry and type only: a forged token cannot pick someone else's bucket, and the
    # full check (session, blocklist) is the route's job — no database read per limit check.
    principal = g.get("principal")
    if principal is not None:
        return principal.user_id
    try:
        token, _ = request_token()
        claims = tokens.decode(token) if token else None
    except Exception:
        return None
    if not claims or claims.get("type") != "access":
        return None
    return claims.get("sub")


def _default_limits() -> str:
    return current_app.config["DORAMI"].ratelimit_default


# The extension lives here, not in extensions.py: its key needs the token code (auth), which the
# extension module must not import.
limiter = Limiter(key_func=client_key, default_limits=[_default_limits], key_prefix="dorami-rl")


def _ip_key() -> str:
    return f"ip:{client_ip()}"


def _login_account_key() -> str:
    payload = request.get_json(silent=True)
    email = payload.get("email") if isinstance(payload, dict) else None
    if not email:
        return "account:-"
    # Hashed: the key has a fixed size whatever the body holds, and Redis never lists emails.
    return "account:" + hashlib.sha256(str(email).strip().lower().encode()).hexdigest()[:32]


# login, register and refresh: RATELIMIT_AUTH per client IP, per route.
auth_limit = limiter.limit(lambda: current_app.config["DORAMI"].ratelimit_auth, key_func=_ip_key)

# login: a budget of failed attempts per account (email), whatever the IP; only 401s count.
login_failure_limit = limiter.limit(
    lambda: current_app.config["DORAMI"].login_failure_limit,
    key_func=_login_account_key,
    deduct_when=lambda response: response.status_code == 401,
    scope="login-failures",
    error_message="Too many failed sign-in attempts for this account; try again later",
)


@limiter.request_filter
def _exempt_request() -> bool:
    return request.method == "OPTIONS" or request.blueprint in EXEMPT_BLUEPRINTS


def _remember_retry_after(response: Response) -> Response:
    g.route_retry_after = response.headers.get("Retry-After")
    return response


def _settle_retry_after(response: Response) -> Response:
    # Flask-Limiter writes Retry-After on every response. It belongs on our 429s (equal to the
    # body's retryAfter; the limiter rounds down), stays as the route set it elsewhere (a 503
    # says when to retry), and is dropped where nobody asked for it.
    if response.status_code == 429 and "retry_after" in g:
        response.headers["Retry-After"] = str(g.retry_after)
    elif g.get("route_retry_after"):
        response.headers["Retry-After"] = g.route_retry_after
    else:
        response.headers.pop("Retry-After", None)
    return response


def _too_many_requests(error: RateLimitExceeded) -> Response:
    retry_after = 1
    current = limiter.current_limit
    if current is not None:
        retry_after = max(1, math.ceil(current.window.reset_time - time.time()))
    g.retry_after = retry_after
    message = "Too many requests; slow down"
    if error.limit is not None and error.limit.error_message:
        message = str(error.description)
    return error_response(
        429,
        "RATE_LIMIT_EXCEEDED",
        message,
        {"retryAfter": retry_after},
        headers={"Retry-After": str(retry_after)},
    )
