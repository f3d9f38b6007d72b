"""Announcing product changes after commit: the one place that turns a committed change into the
right broadcasts (SPEC §5). Reads the product afresh, so every broadcast carries committed data
and its `version`."""

from __future__ import annotations

import uuid

from dorami_api.extensions import db
from dorami_api.products import stock
from dorami_api.products.models import Product
from dorami_api.products.serializers import product_json
from dorami_api.realtime import broadcast
from dorami_api.streaming.models import LiveStream


def _load(product_id: uuid.UUID) -> tuple[dict, str | None] | None:
    product = db.session.get(Product, product_id, populate_existing=True)
    if product is None:
        return None
    stream_key = None
    if product.stream_id:
        stream_key = db.session.scalar(db.select(LiveStream.stream_key).where(LiveStream.id == product.stream_id))
    return product_json(product, stream_key=stream_key), stream_key


def announce_stock_change(settlement: stock.StockSettlement) -> None:
    """Call through after_commit with the result of stock.settle()."""
    loaded = _load(settlement.product_id)
    if loaded is None:
        return
    data, stream_key = loaded
    if settlement.became_sold_out:
        broadcast.product_soldout(stream_key, data)
    else:
        broadcast.product_updated(stream_key, data)
    if 0 < data["available"] < stock.LOW_STOCK_BELOW:
        broadcast.product_low_stock(stream_key, data)
