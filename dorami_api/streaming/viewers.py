"""The current viewer count of a stream, as the realtime presence layer keeps it in Redis under
`stream:{streamKey}:viewers` (SPEC §7)."""

from __future__ import annotations

import logging
import time

import redis

from dorami_api.extensions import redis_store

log = logging.getLogger(__name__)


def viewers_key(stream_key: str) -> str:
    return f"stream:{stream_key}:viewers"


def viewer_count(stream_key: str) -> int:
    """Distinct viewers connected now; 0 when Redis cannot say (a count is not worth a 500)."""
    try:
        from dorami_api.realtime.presence import viewer_count as presence_count
    except ImportError:  # the presence layer is not part of this build yet
        presence_count = _count_from_key
    try:
        return int(presence_count(stream_key))
    except redis.RedisError as error:
        log.warning("viewer count of %s unavailable: %s", stream_key, type(error).__name__)
        return 0


def _count_from_key(stream_key: str) -> int:
    key = viewers_key(stream_key)
    kind = redis_store.type(key)
    if kind == "zset":  # members scored by their expiry: count the live ones
        return int(redis_store.zcount(key, time.time(), "+inf"))
    if kind == "set":
        return int(redis_store.scard(key))
    if kind == "hash":
        return int(redis_store.hlen(key))
    if kind == "string":
        value = redis_store.get(key)
        return max(int(value), 0) if value and value.lstrip("-").isdigit() else 0
    return 0
