"""What the socket layer needs to know about a stream: does the key exist, and has it ended.

Chat checks this on every message, so the answer is kept for two seconds per process; a stream
that has just ended may take that long to close its chat."""

from __future__ import annotations

import time

from flask import Flask, current_app

from dorami_api.extensions import db
from dorami_api.streaming.models import LiveStream

_CACHE_SECONDS = 2.0


def init_app(app: Flask) -> None:
    app.extensions["stream_status"] = {}  # stream key -> (status, until: a time.monotonic() value)


def status(stream_key: str) -> str | None:
    """SCHEDULED / LIVE / ENDED, or None for an unknown key."""
    _cache = current_app.extensions["stream_status"]
    cached = _cache.get(stream_key)
    now = time.monotonic()
    if cached and cached[1] > now:
        return cached[0]
    value = db.session.scalar(db.select(LiveStream.status).where(LiveStream.stream_key == stream_key))
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[stream_key] = (value, now + _CACHE_SECONDS)
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
