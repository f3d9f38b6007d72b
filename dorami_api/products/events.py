"""Announcing product changes after commit: the one place that turns a committed change into the
right broadcasts (SPEC §5). Reads the product afresh, so every broadcast carries committed data
and its `version`, exactly as `GET /products/{id}` returns it.

Visibility decides the event: a product appearing in a stream's room (created, unhidden, moved
in) is `added`; one leaving it (deleted, hidden, moved out) is `deleted`; any other change is
`updated`, or `soldout` when it has just sold out. Hidden products are never broadcast.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from dorami_api.extensions import db
from dorami_api.products import stock
from dorami_api.products.models import Product
from dorami_api.products.serializers import product_json, stream_key_of
from dorami_api.realtime import broadcast


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


def announce_stock_change(settlement: stock.StockSettlement) -> None:
    """Call through after_commit with the result of stock.settle()."""
    data = _load(settlement.product_id)
    if data is None or data["status"] == "HIDDEN":
        return
    if settlement.became_sold_out:
        broadcast.product_soldout(data["streamKey"], data)
    else:
        broadcast.product_updated(data["streamKey"], data)
    _announce_low_stock(data)


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
            broadcast.product_soldout(after.stream_key, data)
        else:
            broadcast.product_updated(after.stream_key, data)
        _announce_low_stock(data)
        return
    if before is not None and before.visible:
        broadcast.product_deleted(before.stream_key, data)
    if after.visible:
        broadcast.product_added(after.stream_key, data)
        _announce_low_stock(data)


def announce_deleted(data: dict) -> None:
    """`data`: the product as it was, serialised before the delete."""
    if data["status"] != "HIDDEN":
        broadcast.product_deleted(data["streamKey"], data)


def announce_featured(stream_key: str, product_id: uuid.UUID | None) -> None:
    data = _load(product_id) if product_id is not None else None
    broadcast.featured_product_updated(stream_key, data)
