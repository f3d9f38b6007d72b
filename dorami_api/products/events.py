"""Announcing product changes after commit: the one place that turns a committed change into the
right broadcasts. Reads the product afresh, so every broadcast carries committed data
and its `version`, exactly as `GET /products/{id}` returns it.

Visibility decides the event: a product appearing in a stream's room (created, unhidden, moved
in) is `added`; one leaving it (deleted, hidden, moved out) is `deleted`; any other change is
`updated`, or `soldout` when it has just sold out. Hidden products are never broadcast.

`updated` (and `product:low-stock` with it) is coalesced per product: the first change goes out
at once, further changes within UPDATE_WINDOW_SECONDS become one trailing broadcast that reads the
product when it is sent, so it carries the newest committed state and `version`. In a flash sale
that is a few broadcasts per second to every viewer instead of one per order. `soldout`, `added`
and `deleted` are never delayed and drop a pending `updated`. Within a process no broadcast about
a product ever carries an older `version` than one already sent (clients drop those anyway).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import FIFOCache
from flask import Flask, current_app

from dorami_api.extensions import db
from dorami_api.products import stock
from dorami_api.products.models import Product
from dorami_api.products.serializers import product_json, stream_key_of
from dorami_api.realtime import broadcast
from dorami_api.realtime.coalesce import Coalescer
from dorami_api.realtime.timers import LateLock
from dorami_api.server import shutdown

UPDATE_WINDOW_SECONDS = 0.25
_SENT_REMEMBERED = 4096


class ProductEvents:
    """What one app's process keeps to order its product broadcasts."""

    def __init__(self) -> None:
        self.updates = Coalescer(UPDATE_WINDOW_SECONDS)  # the pending coalesced `updated`
        # product id -> the newest version sent, for the _SENT_REMEMBERED products sent last
        # (first in, first out: sending again moves a product to the end)
        self.sent: FIFOCache = FIFOCache(maxsize=_SENT_REMEMBERED)
        self.sent_lock = LateLock()


def init_app(app: Flask) -> None:
    state = app.extensions["product_events"] = ProductEvents()
    shutdown.register(app, "product-updates", state.updates.flush)


def _state() -> ProductEvents:
    return current_app.extensions["product_events"]


@dataclass(frozen=True)
class Placement:
    """Where a product shows before a change: its stream's room, and whether it is visible."""

    stream_key: str | None
    visible: bool


def placement_of(product: Product) -> Placement:
    return Placement(stream_key_of(product), product.status != "HIDDEN")


def _load(product_id: uuid.UUID) -> dict | None:
    product = db.session.get(Product, product_id, populate_existing=True)
    return None if product is None else product_json(product)


def _announce_low_stock(data: dict) -> None:
    if 0 < data["available"] < stock.LOW_STOCK_BELOW:
        broadcast.product_low_stock(data["streamKey"], data)


# --- newest version sent per product (this process) ---------------------------------------------


def _sending(data: dict, send: Callable[[], None], *, unless_older: bool) -> None:
    """Send under the per-process ordering guard. unless_older: skip when a newer (or the same)
    version of the product was already sent — a coalesced `updated` read before a `soldout`
    overtook it. Other events are always sent, and only raise the mark."""
    state = _state()
    with state.sent_lock:
        sent = state.sent
        newest = sent.get(data["id"])
        if unless_older and newest is not None and data["version"] <= newest:
            return
        sent[data["id"]] = max(data["version"], newest if newest is not None else data["version"])
        send()


def _send_update(product_id: uuid.UUID) -> None:
    data = _load(product_id)
    if data is None or data["status"] == "HIDDEN":
        return

    def send():
        broadcast.product_updated(data["streamKey"], data)
        _announce_low_stock(data)

    _sending(data, send, unless_older=True)


def _send_update_later(app, product_id: uuid.UUID) -> Callable[[], None]:
    def run():
        with app.app_context():
            _send_update(product_id)

    return run


def _announce_updated(product_id: uuid.UUID) -> None:
    app = current_app._get_current_object()
    _state().updates.submit(product_id, lambda: _send_update(product_id), _send_update_later(app, product_id))


def _announce_now(product_id: uuid.UUID, data: dict, send: Callable[[], None]) -> None:
    """soldout / added / deleted: at once, superseding a pending `updated`."""
    _state().updates.cancel(product_id)
    _sending(data, send, unless_older=False)


def _announce_soldout(data: dict) -> None:
    product_id = uuid.UUID(data["id"])
    _announce_now(product_id, data, lambda: broadcast.product_soldout(data["streamKey"], data))


def flush_pending_updates(app: Flask) -> None:
    """Send every coalesced `updated` of the app still waiting for its window (tests; the shutdown
    step does it too)."""
    app.extensions["product_events"].updates.flush()


def announce_stock_change(settlement: stock.StockSettlement) -> None:
    """Call through after_commit with the result of stock.settle()."""
    if not settlement.became_sold_out:
        _announce_updated(settlement.product_id)
        return
    data = _load(settlement.product_id)
    if data is None or data["status"] == "HIDDEN":
        return
    _announce_soldout(data)


def announce_product_change(
    product_id: uuid.UUID, before: Placement | None, settlement: stock.StockSettlement | None = None
) -> None:
    """Call through after_commit after a create (before=None) or an edit."""
    data = _load(product_id)
    if data is None:
        return
    after = Placement(data["streamKey"], data["status"] != "HIDDEN")
    if before is not None and before == after:
        if not after.visible:
            return
        if settlement is not None and settlement.became_sold_out:
            _announce_soldout(data)
        else:
            _announce_updated(product_id)  # re-reads when it is sent
        return
    if before is not None and before.visible:
        _announce_now(product_id, data, lambda: broadcast.product_deleted(before.stream_key, data))
    if after.visible:
        _announce_now(product_id, data, lambda: broadcast.product_added(after.stream_key, data))
        _announce_low_stock(data)


def announce_deleted(data: dict) -> None:
    """`data`: the product as it was, serialised before the delete."""
    if data["status"] != "HIDDEN":
        _announce_now(uuid.UUID(data["id"]), data, lambda: broadcast.product_deleted(data["streamKey"], data))


def announce_featured(stream_key: str, product_id: uuid.UUID | None) -> None:
    data = _load(product_id) if product_id is not None else None
    broadcast.featured_product_updated(stream_key, data)
