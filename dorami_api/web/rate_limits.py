"""HTTP rate limits with Flask-Limiter on Redis, so that limits hold across workers and
hosts.

Identity: the user id of a valid access token, else the client IP (after ProxyFix has applied
PROXY_HOPS). Default tiers apply per route; login, register and refresh get the stricter auth
tier per IP, and login a per-account budget of failures. Health, metrics and CORS preflights are
never limited. A 429 answers in the error envelope with `Retry-After` and `details.retryAfter`.
The default windows of a request are counted in one Redis script, which also gives its
X-RateLimit headers (`CountedInRedis._hit_windows`) and reads what checking the caller's session
needs (auth/remembered_sessions.py `lookup_keys`): a signed-in request makes one Redis round trip
before its view instead of two.

While Redis cannot count (down, hanging, failing over), see `CountedInRedis`: reads are counted in
the worker's memory and served, anything else is refused with 503.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter
from limits.util import WindowStats
from redis.exceptions import ConnectionError as RedisConnectionError

from dorami_api.auth import remembered_sessions, tokens
from dorami_api.auth.guards import request_token
from dorami_api.config import RedisTarget
from dorami_api.errors import REDIS_OUTAGE, error_response, service_busy, service_unavailable
from dorami_api.redis_client import blocking_pool, outage_retry

log = logging.getLogger(__name__)

EXEMPT_BLUEPRINTS = frozenset({"health", "metrics"})
STORAGE_OPTIONS = {"socket_timeout": 2.0, "socket_connect_timeout": 1.0}
READ_METHODS = frozenset({"GET", "HEAD"})
# After Redis failed to count, requests go straight to the outage rule for this long, so that no
# request waits on a hung server; then Redis is tried again (recovery within this delay).
REDIS_RETRY_SECONDS = 1.0


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    app.config.update(
        # Always explicit: the singleton limiter remembers the last app's value otherwise.
        RATELIMIT_ENABLED=config.ratelimit_enabled,
        RATELIMIT_STORAGE_URI=storage_uri(config.redis),
        RATELIMIT_STORAGE_OPTIONS=storage_options(config.redis),
        RATELIMIT_STRATEGY="fixed-window",
        RATELIMIT_HEADERS_ENABLED=True,
        # What a Redis outage means for a limit is decided by CountedInRedis, not by
        # Flask-Limiter's own fallback (which counts everything per worker, and keeps doing so for
        # up to half a minute after Redis is back) nor by swallowing the error (no limit at all).
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=False,
        RATELIMIT_SWALLOW_ERRORS=False,
    )
    # after_request hooks run last-registered-first: the limiter's hook runs between these two.
    app.after_request(_settle_retry_after)
    limiter.init_app(app)
    # Flask-Limiter (pinned) builds its strategy in init_app and reads it through `limiter.limiter`
    # for every hit, test and header; tests/drills/test_rate_limits_during_outage.py proves that
    # the wrapper is the one used.
    if limiter.enabled:  # else init_app returned early and built nothing
        defaults = parse_many(config.ratelimit_default)
        # A route's own window equal to a default one would be taken for the defaults' (one script
        # for all of them): such a configuration counts window by window, as Flask-Limiter does.
        own = parse_many(config.ratelimit_auth) + parse_many(config.login_failure_limit)
        limiter._limiter = CountedInRedis(limiter._limiter, [] if set(own) & set(defaults) else defaults)
    app.after_request(_remember_retry_after)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


class CountedInRedis(RateLimiter):
    """The configured strategy on Redis, and what a Redis outage means for a limit.

    Limits must hold across workers and hosts, which only a count in Redis does. When Redis cannot
    count a request:
    - a read (GET/HEAD) is counted in this worker's memory instead and served: public reads keep
      answering during the outage, each worker still bounding its own load;
    - anything else is refused with 503 SERVICE_UNAVAILABLE: a write's limit (login, register and
      refresh: guessing passwords, creating accounts) counted by each worker alone would let
      workers × the limit through. Authenticated requests need Redis for the token check anyway.
    Once the response is being finished (headers, counting a failed login), nothing is refused any
    more: the answer has been decided, and a Redis that fails at that moment must not make it a 500.
    """

    def __init__(self, shared: RateLimiter, default_windows: list[RateLimitItem]) -> None:
        super().__init__(shared.storage)
        self.shared = shared
        self.in_memory = type(shared)(MemoryStorage())
        self._redis_retry_at = 0.0
        # The default windows in the order Flask-Limiter hits them (shortest first), counted in one
        # script per request (`_hit_windows`); only fixed windows on Redis are.
        batchable = isinstance(shared, FixedWindowRateLimiter) and isinstance(shared.storage, RedisStorage)
        self.default_windows = tuple(sorted(default_windows)) if batchable else ()
        if self.default_windows:  # registered as limits registers its own scripts (EVALSHA)
            self._hit_script = shared.storage.get_connection().register_script(HIT_WINDOWS)

    def _count(self, method: str, *args, counted=None, **kwargs):
        refusal = service_unavailable
        if time.monotonic() >= self._redis_retry_at:
            try:
                return counted() if counted is not None else getattr(self.shared, method)(*args, **kwargs)
            except REDIS_OUTAGE as error:
                if _pool_exhausted(error):
                    # This worker is overloaded, Redis is not down: this request only is answered
                    # as busy; the others keep being counted in Redis.
                    refusal = service_busy
                else:
                    log.warning("rate limits: Redis unavailable (%s)", type(error).__name__)
                    self._redis_retry_at = time.monotonic() + REDIS_RETRY_SECONDS
        if request.method not in READ_METHODS and not g.get("limits_settled") and method != "get_window_stats":
            raise refusal("Requests cannot be counted against their limits right now; try again shortly")
        return getattr(self.in_memory, method)(*args, **kwargs)

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        if cost == 1 and item in self.default_windows:
            counts = self._count("hit", item, *identifiers, cost=cost, counted=lambda: self._hit_windows(identifiers))
            if isinstance(counts, bool):  # Redis could not count: this worker's memory did
                return counts
            count, _ = counts.get(item, (None, None))
            if count is not None:
                return count <= item.amount
        return self._count("hit", item, *identifiers, cost=cost)

    def test(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        return self._count("test", item, *identifiers, cost=cost)

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        count, ttl = g.get("rate_limit_windows", {}).get(identifiers, {}).get(item, (None, None))
        if count is not None:  # the X-RateLimit headers, from the count this request made
            return WindowStats(time.time() + max(ttl, 0), max(0, item.amount - count))
        return self._count("get_window_stats", item, *identifiers)

    def _hit_windows(self, identifiers: tuple[str, ...]) -> dict:
        """Hit every default window of these identifiers in one script (Flask-Limiter would make
        one round trip per window, and two more for the headers), the first time this request asks;
        (count, seconds left) of each window counted. Like Flask-Limiter, the windows after the
        first one breached are not counted."""
        done = g.setdefault("rate_limit_windows", {})
        if identifiers not in done:
            windows = self.default_windows
            keys = [self.shared.storage.prefixed_key(item.key_for(*identifiers)) for item in windows]
            args = [value for item in windows for value in (item.get_expiry(), item.amount)]
            # The route's guard will read these next: read them now, in the same round trip.
            claims = g.pop("limit_claims", None)
            lookup = remembered_sessions.lookup_keys(claims) if claims is not None else []
            counted, looked_up = self._hit_script(keys=keys + lookup, args=args)
            if lookup:
                g.session_lookup = remembered_sessions.LookedUp(claims["jti"], tuple(map(_text, looked_up)))
            # Windows after a breach were not counted: zip stops at the shorter list on purpose.
            done[identifiers] = {item: (int(n), int(ttl)) for item, (n, ttl) in zip(windows, counted, strict=False)}
        return done[identifiers]

    def clear(self, item: RateLimitItem, *identifiers: str) -> None:
        self.in_memory.clear(item, *identifiers)
        self._count("clear", item, *identifiers)


# KEYS: the windows' counters, shortest window first, then any keys to read; ARGV: expiry and
# amount of each window. Counts one hit in each window up to and including the first one it
# breaches (limits' own incr_expire per window: INCRBY, and EXPIRE on the first hit of a window);
# returns {{count, ttl} of those windows, {value of each key read}}.
HIT_WINDOWS = """
local windows = #ARGV / 2
local counted = {}
for i = 1, windows do
    local current = redis.call("incrby", KEYS[i], 1)
    if current == 1 then
        redis.call("expire", KEYS[i], ARGV[2 * i - 1])
    end
    counted[i] = {current, redis.call("ttl", KEYS[i])}
    if current > tonumber(ARGV[2 * i]) then
        break
    end
end
local read = {}
for i = windows + 1, #KEYS do
    read[#read + 1] = redis.call("get", KEYS[i])
end
return {counted, read}
"""


def _text(value: bytes | str | None) -> str | None:
    """A value the limiter's connection read (bytes: it does not decode), as redis_store gives it."""
    return value.decode() if isinstance(value, bytes) else value


def _pool_exhausted(error: Exception) -> bool:
    """Every connection of the limiter's pool stayed in use for POOL_WAIT_SECONDS (redis-py's
    BlockingConnectionPool says so with this ConnectionError and no other)."""
    return isinstance(error, RedisConnectionError) and str(error) == "No connection available."


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
    options = {**STORAGE_OPTIONS, "retry": outage_retry()}
    if target.is_sentinel:
        return {**options, "db": target.db}
    # redis-py's default pool raises MaxConnectionsError past 100 connections in use, which the
    # outage rule above took for a Redis outage: a burst of 500 buyers had every order refused
    # with 503 for REDIS_RETRY_SECONDS. A blocking pool makes a request wait its turn instead,
    # like the service's own Redis client.
    return {"connection_pool": blocking_pool(target.url, **STORAGE_OPTIONS), "retry": outage_retry()}


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
    if all(isinstance(claims.get(name), str) for name in ("jti", "sub", "sid")):
        g.limit_claims = claims  # its session keys are read with the windows (`_hit_windows`)
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
    g.limits_settled = True  # runs just before the limiter's own after-request hook
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
