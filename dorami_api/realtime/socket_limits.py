"""Per-user socket event limits shared by every process through Redis (per socket for guests).

A fixed window in the app's Redis, keyed as the `limits` package (the one Flask-Limiter counts
HTTP requests with) keys it: one atomic INCR that starts the window's expiry on its first hit, so
that two processes cannot both let the 21st message through. Over the limit, the event is dropped
with RATE_LIMIT_EXCEEDED and `retryAfter` seconds; the connection stays open.

The hits of the events one process receives together are counted together (dorami_api/batches.py):
one script call for all of them instead of a round trip each. In a live auction 200 bidders' bids
arrive at once, and the round trip per bid cost as much CPU as deciding the whole batch of bids.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter

from dorami_api.batches import Batches
from dorami_api.extensions import redis_store

KEY_PREFIX = "socket-rate"


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    window_seconds: int

    @property
    def item(self) -> RateLimitItemPerSecond:
        return RateLimitItemPerSecond(self.count, self.window_seconds)


CHAT_MESSAGES = Limit("chat-message", 20, 10)
JOIN_LEAVE = Limit("join-leave", 10, 10)
OTHER = Limit("event", 100, 10)

# Counts one hit on KEYS[1] (a key() of this module) with a window of ARGV[1] seconds into `hits`
# and `ttl`, by the same rule as `limits` (INCR; the first hit starts the window's expiry), for a
# script that counts a hit and then acts in the same round trip: a chat message is counted, checked
# against bans and mutes and kept in the history in one call (chat/service.py), on the same counter
# as the chat's other events.
COUNT_HIT_LUA = """
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
"""
# The same rule for each KEYS[i] with its window ARGV[i]: {hits, ttl} of each.
COUNT_HITS_LUA = (
    "local counted = {}\nfor i, key in ipairs(KEYS) do\n"
    + COUNT_HIT_LUA.replace("KEYS[1]", "key").replace("ARGV[1]", "ARGV[i]")
    + "counted[i] = {hits, ttl}\nend\nreturn counted\n"
)
# The most hits one script call counts; more wait for the next call.
MAX_HITS_PER_CALL = 500
_HITS = "socket_limit_hits"


class RateLimited(Exception):
    def __init__(self, ttl) -> None:
        super().__init__("Too many requests. Please slow down.")
        self.retry_after = max(1, int(ttl))


def init_app(app: Flask) -> None:
    # On the app's own Redis connections (a sentinel master or the embedded stand-in included),
    # so a socket event costs no connection of a pool of its own.
    storage = RedisStorage("redis://", connection_pool=redis_store.client.connection_pool, key_prefix=KEY_PREFIX)
    app.extensions["socket_limits"] = FixedWindowRateLimiter(storage)
    app.extensions[_HITS] = Batches(
        MAX_HITS_PER_CALL, interrupted=lambda: RuntimeError("the batch of rate-limit hits was interrupted")
    )


def _limiter() -> FixedWindowRateLimiter:
    return current_app.extensions["socket_limits"]


def key(limit: Limit, who: str) -> str:
    """The Redis key of `who`'s counter for `limit`."""
    return _limiter().storage.prefixed_key(limit.item.key_for(limit.name, who))


def hit(limit: Limit, who: str) -> None:
    """Count one event of `who` against `limit`; raise RateLimited when over it. A Redis error
    reaches the caller (every caller whose hit was in that script call)."""
    hits: Batches = current_app.extensions[_HITS]
    count, ttl = hits.submit(_HITS, (key(limit, who), limit.window_seconds), _count)
    if count > limit.count:
        raise RateLimited(ttl)


def _count(batch: list[tuple[str, int]]) -> list[tuple[int, int]]:
    """(hits, seconds left in the window) of each (key, window), one script call for all."""
    counted = redis_store.run_script(COUNT_HITS_LUA, [key for key, _ in batch], [window for _, window in batch])
    return [(int(count), int(ttl)) for count, ttl in counted]
