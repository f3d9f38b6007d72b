"""A stream's status as the socket layer and the public status route read it, kept per process.

The socket layer asks whether a key exists and whether its stream has ended: chat checks this on
every message, so the answer is kept for STATUS_SECONDS. The public status route
(`GET /streaming/streams/key/{key}/status`) is polled by every viewer of a show: its serialised
answer, viewer count included, is kept for PUBLIC_SECONDS.

Freshness: a commit in this process that changes a stream (started, ended, edited, deleted: every
such change goes through the ORM) drops both at once, so this process's next read sees it. A
change committed by another process is seen here within STATUS_SECONDS by chat and within
PUBLIC_SECONDS (plus the one read that builds the answer) by the status route: an ended stream is
not announced LIVE by that route for longer than that. The viewer count in a kept answer is at
most PUBLIC_SECONDS old. A read overtaken by a change is served but not kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cachetools import TTLCache
from flask import Flask, current_app

from dorami_api.db import committed_changes
from dorami_api.extensions import db
from dorami_api.streaming.models import LiveStream

STATUS_SECONDS = 2.0
PUBLIC_SECONDS = 1.0
_CACHE_SIZE = 10_000
_UNKNOWN = object()  # None is a status too: no stream has the key
_EXTENSION = "stream_status"
_CHANGED = "changed"  # all a change to a stream tells: every kept status goes


class _StatusCache:
    def __init__(self) -> None:
        self.statuses: TTLCache = TTLCache(maxsize=_CACHE_SIZE, ttl=STATUS_SECONDS)  # key -> status
        self.public: TTLCache = TTLCache(maxsize=_CACHE_SIZE, ttl=PUBLIC_SECONDS)  # key -> `data` JSON
        self.generation = 0  # bumped by every committed change: a read begun before one is not kept
        self.lock = threading.Lock()  # a TTLCache is not safe for concurrent threads

    def kept(self, entries: TTLCache, stream_key: str, read: Callable[[], object], keep_missing: bool):
        with self.lock:
            value = entries.get(stream_key, _UNKNOWN)
        if value is not _UNKNOWN:
            return value
        generation = self.generation
        value = read()
        if value is not None or keep_missing:
            with self.lock:
                if generation == self.generation:
                    entries[stream_key] = value
        return value

    def changed(self) -> None:
        with self.lock:
            self.generation += 1
            self.statuses.clear()
            self.public.clear()


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = _StatusCache()
    committed_changes.watch(_EXTENSION, (LiveStream,), lambda _session, _stream: {_CHANGED}, _forget_committed)


def _cache() -> _StatusCache:
    return current_app.extensions[_EXTENSION]


def status(stream_key: str) -> str | None:
    """SCHEDULED / LIVE / ENDED, or None for an unknown key."""

    def read() -> str | None:
        return db.session.scalar(db.select(LiveStream.status).where(LiveStream.stream_key == stream_key))

    cache = _cache()
    return cache.kept(cache.statuses, stream_key, read, keep_missing=True)


def public_status(stream_key: str, read: Callable[[], str | None]) -> str | None:
    """The status route's serialised `data` for the key: kept, else read(). None (no such stream)
    is not kept: keys are the caller's choice, and a stream created elsewhere is seen at once."""
    cache = _cache()
    return cache.kept(cache.public, stream_key, read, keep_missing=False)


def _forget_committed(_changes: set) -> None:
    if _EXTENSION in current_app.extensions:
        _cache().changed()


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
