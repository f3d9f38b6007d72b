"""The current viewer count of a stream, as the realtime presence layer counts it in Redis
(`stream:{streamKey}:viewers`)."""

from __future__ import annotations

import logging

import redis

from dorami_api.presence import service as presence

log = logging.getLogger(__name__)


def viewer_count(stream_key: str) -> int:
    """Distinct viewers connected now, on every process; 0 when Redis cannot say (a count on a
    public page is not worth a 500)."""
    try:
        return presence.viewer_count(stream_key)
    except redis.RedisError as error:
        log.warning("viewer count of %s unavailable: %s", stream_key, type(error).__name__)
        return 0
