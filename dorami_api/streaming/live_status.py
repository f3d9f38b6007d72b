"""What the socket layer needs to know about a stream: does the key exist, and has it ended.

Chat checks this on every message, so the answer is kept for two seconds per process; a stream
that has just ended may take that long to close its chat."""

from __future__ import annotations

import threading

from cachetools import TTLCache
from flask import Flask, current_app

from dorami_api.extensions import db
from dorami_api.streaming.models import LiveStream

_CACHE_SECONDS = 2.0
_CACHE_SIZE = 10_000
_UNKNOWN = object()  # None is a status too: no stream has the key


class _StatusCache:
    def __init__(self) -> None:
        self.entries: TTLCache = TTLCache(maxsize=_CACHE_SIZE, ttl=_CACHE_SECONDS)  # stream key -> status
        self.lock = threading.Lock()  # a TTLCache is not safe for concurrent threads


def init_app(app: Flask) -> None:
    app.extensions["stream_status"] = _StatusCache()


def status(stream_key: str) -> str | None:
    """SCHEDULED / LIVE / ENDED, or None for an unknown key."""
    cache: _StatusCache = current_app.extensions["stream_status"]
    with cache.lock:
        value = cache.entries.get(stream_key, _UNKNOWN)
    if value is not _UNKNOWN:
        return value
    value = db.session.scalar(db.select(LiveStream.status).where(LiveStream.stream_key == stream_key))
    with cache.lock:
        cache.entries[stream_key] = value
    return value


def record_peak(stream_key: str, viewers: int) -> None:
    """peakViewers = the highest count seen; one conditional UPDATE, so concurrent writers from
    several processes can only raise it."""
    db.session.execute(
        db.update(LiveStream)
        .where(LiveStream.stream_key == stream_key, LiveStream.peak_viewers < viewers)
        .values(peak_viewers=viewers)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
