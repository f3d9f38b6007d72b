"""Building redis-py clients from the configured target (plain URL or sentinel), or the
in-process stand-in of the embedded development mode."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.driver_info import DriverInfo
from redis.retry import Retry
from redis.sentinel import Sentinel

from dorami_api.config import RedisTarget

# Commands never wait longer than this on a hung Redis: a request fails fast (503) instead of
# tying up a worker.
DEFAULT_TIMEOUTS = {"socket_connect_timeout": 1.0, "socket_timeout": 2.0, "health_check_interval": 30}

# What every new connection tells Redis about itself (CLIENT SETINFO: redis-py and its version),
# made once per process and given to every pool (blocking_pool, the rate limiter's too).
# Without it redis-py asks importlib.metadata for its own version on each new connection, ~0.5 ms
# of CPU: while a burst grows a fresh worker's pools to MAX_CONNECTIONS that was 6 % of the HTTP
# requests' samples in a flash sale's profile, most of it in the rate limiter's pool.
DRIVER_INFO = DriverInfo()


def outage_retry() -> Retry:
    """A command whose connection broke (a restart, a Sentinel failover) is tried again twice,
    0.02 s then 0.04 s later, on a fresh connection — which, behind Sentinel, goes to the master
    of the moment. A timeout is not retried: a hung server would only hold the caller longer.
    (redis-py's own default retries ten times with up to a second between tries.)"""
    return Retry(ExponentialBackoff(cap=0.2, base=0.02), 2, supported_errors=(redis.exceptions.ConnectionError,))


# One gevent worker runs hundreds of greenlets that each touch Redis (token blocklist, rate
# limits, presence). redis-py's default pool raises MaxConnectionsError past its cap; the
# blocking pool makes a greenlet wait this long for a free connection instead.
MAX_CONNECTIONS = 200
POOL_WAIT_SECONDS = 5.0


def blocking_pool(url: str, **options) -> redis.BlockingConnectionPool:
    """The pool every plain-URL client of the service uses (its own, the rate limiter's): at most
    MAX_CONNECTIONS, a greenlet waits POOL_WAIT_SECONDS for a free one, and every connection
    describes itself with the process's DRIVER_INFO."""
    return redis.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECONDS, driver_info=DRIVER_INFO, **options
    )


def build_redis(target: RedisTarget | None, **overrides) -> redis.Redis:
    options = {**DEFAULT_TIMEOUTS, "decode_responses": True, "retry": outage_retry(), **overrides}
    if target is None:
        import fakeredis  # only the embedded development mode needs it

        return fakeredis.FakeRedis(server=_embedded_server(), decode_responses=options["decode_responses"])
    if target.is_sentinel:
        sentinel = Sentinel(
            list(target.sentinels),
            socket_timeout=options["socket_timeout"],
            socket_connect_timeout=options["socket_connect_timeout"],
            sentinel_kwargs={"password": target.password} if target.password else None,
        )
        return sentinel.master_for(
            target.service,
            db=target.db,
            password=target.password,
            username=target.username,
            driver_info=DRIVER_INFO,
            **{k: v for k, v in options.items() if k != "health_check_interval"},
        )
    return redis.Redis(connection_pool=blocking_pool(target.url, **options))


_SERVER = None


def _embedded_server():
    """One in-process Redis per process: every client of the embedded mode shares it."""
    global _SERVER
    if _SERVER is None:
        import fakeredis

        _SERVER = fakeredis.FakeServer()
    return _SERVER
