"""Per-user socket event limits shared by every process through Redis (per socket for guests).

A fixed window counted atomically in one Lua call (INCR, EXPIRE on the first hit, TTL), so that
two processes cannot both let the 21st message through. Over the limit, the event is dropped with
RATE_LIMIT_EXCEEDED and `retryAfter` seconds; the connection stays open.
"""

from __future__ import annotations

from dataclasses import dataclass

from dorami_api.extensions import redis_store


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    window_seconds: int


CHAT_MESSAGES = Limit("chat-message", 20, 10)
JOIN_LEAVE = Limit("join-leave", 10, 10)
OTHER = Limit("event", 100, 10)

# Counts one hit on KEYS[1] with a window of ARGV[1] seconds into `hits` and `ttl`. Shared with
# scripts that count a hit and then act in the same round trip (chat.py, a chat message).
COUNT_HIT_LUA = """
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
"""
_HIT = COUNT_HIT_LUA + "return {hits, ttl}\n"


class RateLimited(Exception):
    def __init__(self, ttl) -> None:
        super().__init__("Too many requests. Please slow down.")
        self.retry_after = max(1, int(ttl))


def key(limit: Limit, who: str) -> str:
    return f"socket-rate:{limit.name}:{who}"


def hit(limit: Limit, who: str) -> None:
    """Count one event of `who` against `limit`; raise RateLimited when over it."""
    hits, ttl = redis_store.run_script(_HIT, [key(limit, who)], [limit.window_seconds])
    if int(hits) > limit.count:
        raise RateLimited(ttl)
