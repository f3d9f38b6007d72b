"""A short per-process cache of the public product list (`GET /products` for non-admins).

Every viewer of a live stream reads the same page, so each process keeps the serialised `data`
of a page for TTL_SECONDS, keyed by the whole validated query, at most MAX_PAGES pages (oldest
dropped first). Admins and `includeHidden` never use it, so hidden products cannot leak from it.

Freshness: a commit in this process that touches a product (created, edited, deleted, stock or
status settled — every such change bumps the row through the ORM), a cart hold or a stream (a
deleted stream takes its products along) drops the affected stream's pages when the transaction
commits, so this process's next read sees the change at once. A change committed by another
process is seen here within TTL_SECONDS. Expiry by time (a product's `expiresAt`, a cart hold
running out) is likewise seen within TTL_SECONDS.

When a popular page expires, its first reader rebuilds it; readers arriving meanwhile get the
page that just expired (one that expired less than TTL_SECONDS before the rebuild began, never
one dropped by a change) instead of queueing behind the build or all querying the database at
once: they may read a page up to 2 x TTL_SECONDS plus one rebuild old. A build overtaken by
an invalidation is served but not stored. Expired pages stay until replaced or pushed out.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from cachetools import FIFOCache
from flask import Flask, current_app
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from dorami_api.cart.models import CartHold
from dorami_api.db import committed_changes
from dorami_api.products.models import Product, ProductVariant
from dorami_api.streaming.models import LiveStream

TTL_SECONDS = 1.0
MAX_PAGES = 512
# A reader waits at most this long for another's build before building the page itself.
BUILD_WAIT_SECONDS = 5.0
EVERY_STREAM = "*"
_EXTENSION = "dorami_product_list_cache"


@dataclass
class _Page:
    expires: float
    stream_id: uuid.UUID | None
    body: str


@dataclass
class _Build:
    done: threading.Event
    stale: str | None  # what readers get meanwhile: the page that expired a moment ago, if any


class ListCache:
    def __init__(self) -> None:
        # At most MAX_PAGES, the oldest stored dropped first (storing a page again moves it to the end).
        self._pages: FIFOCache = FIFOCache(maxsize=MAX_PAGES)
        self._building: dict[Hashable, _Build] = {}
        self._generation = 0

    def page(self, key: Hashable, stream_id: uuid.UUID | None, build: Callable[[], str]) -> str:
        """The cached body for `key`, or build() — stored unless a change came in meanwhile."""
        cached = self._pages.get(key)
        now = time.monotonic()
        if cached is not None and cached.expires > now:
            return cached.body
        pending = self._building.get(key)
        if pending is not None:
            if pending.stale is not None:
                return pending.stale  # nobody queues behind the rebuild of a page just expired
            pending.done.wait(BUILD_WAIT_SECONDS)
            body = self._fresh(key)
            return body if body is not None else build()
        recent = cached is not None and cached.expires > now - TTL_SECONDS
        this = self._building[key] = _Build(threading.Event(), cached.body if recent else None)
        generation = self._generation
        try:
            body = build()
            if generation == self._generation:
                self._store(key, stream_id, body)
            return body
        finally:
            del self._building[key]
            this.done.set()

    def invalidate(self, stream_ids: set) -> None:
        """Drop the pages of these streams, and every page not bound to one stream (lists by
        streamKey or across streams). EVERY_STREAM in the set drops everything."""
        self._generation += 1
        for pending in self._building.values():
            pending.stale = None  # a rebuild under way no longer hands out the old page
        if EVERY_STREAM in stream_ids:
            self._pages.clear()
            return
        for key in [k for k, page in self._pages.items() if page.stream_id is None or page.stream_id in stream_ids]:
            del self._pages[key]

    def _fresh(self, key: Hashable) -> str | None:
        page = self._pages.get(key)
        return page.body if page is not None and page.expires > time.monotonic() else None

    def _store(self, key: Hashable, stream_id: uuid.UUID | None, body: str) -> None:
        self._pages[key] = _Page(time.monotonic() + TTL_SECONDS, stream_id, body)


def init_app(app: Flask) -> None:
    """The app's cache, and the listeners on every SQLAlchemy session that notice changes."""
    app.extensions[_EXTENSION] = ListCache()
    committed_changes.watch(_EXTENSION, (Product, ProductVariant, CartHold, LiveStream), _streams_touched, _invalidate)


def cache() -> ListCache:
    """This app's cache (one per app: tests build an app per test)."""
    return current_app.extensions[_EXTENSION]


# --- noticing changes ----------------------------------------------------------------------


def _streams_touched(session: Session, instance) -> set:
    if isinstance(instance, LiveStream):  # deleting a stream takes its products along
        return {instance.id}
    if isinstance(instance, Product):
        streams = {instance.stream_id}
        history = inspect(instance).attrs.stream_id.history
        streams.update(history.deleted or ())  # moved out of a stream
        return streams
    product_id = instance.product_id if isinstance(instance, CartHold | ProductVariant) else None
    if product_id is None:
        return set()
    product = session.identity_map.get(inspect(Product).identity_key_from_primary_key([product_id]))
    return {product.stream_id} if product is not None else {EVERY_STREAM}


def _invalidate(streams: set) -> None:
    if _EXTENSION in current_app.extensions:
        cache().invalidate(streams)
