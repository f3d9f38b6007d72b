"""Prices and the shipping rule shared by the cart summary and the order.

One shipping fee per order: the system default fee, waived only when every item's stream waives
it — unconditionally, or from a threshold that the subtotal of that stream's items in this order
reaches. A product outside any stream (a store product) never waives it, so one free-shipping item
cannot carry the rest of the order. All Decimal."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from dorami_api.db.types import CENT
from dorami_api.extensions import db
from dorami_api.products.models import Product, ProductVariant
from dorami_api.settings.service import system_config
from dorami_api.streaming.models import LiveStream

ZERO = Decimal("0.00")


def unit_price(product: Product, variant: ProductVariant | None) -> Decimal:
    return Decimal(variant.price if variant is not None else product.price).quantize(CENT)


def variant_label(variant: ProductVariant | None) -> str | None:
    if variant is None:
        return None
    return variant.label or " / ".join(part for part in (variant.color, variant.size) if part) or None


@dataclass(frozen=True)
class ShippingTerms:
    """What decides the fee for some streams: read once, applied to a subtotal later (an order
    reads them before taking its product locks, to keep the locked section short)."""

    default_fee: Decimal
    streams: dict[uuid.UUID, tuple[str, Decimal | None]]

    def covers(self, stream_ids: Iterable[uuid.UUID | None]) -> bool:
        return all(stream_id is None or stream_id in self.streams for stream_id in stream_ids)

    def waived(self, priced: list[tuple[uuid.UUID | None, Decimal]]) -> bool:
        """priced: (stream id, line total) of every item of the order or cart."""
        per_stream: dict[uuid.UUID, Decimal] = {}
        for stream_id, amount in priced:
            if stream_id is None:
                return False  # a store product ships at the default fee
            per_stream[stream_id] = per_stream.get(stream_id, ZERO) + amount
        for stream_id, stream_subtotal in per_stream.items():
            mode, threshold = self.streams.get(stream_id, ("DISABLED", None))
            if mode == "UNCONDITIONAL":
                continue
            if mode == "THRESHOLD" and threshold is not None and stream_subtotal >= threshold:
                continue
            return False
        return bool(per_stream)

    def fee(self, priced: Iterable[tuple[uuid.UUID | None, Decimal]]) -> Decimal:
        """The order's one fee. priced: (stream id, line total) of each item."""
        priced = list(priced)
        if sum((amount for _, amount in priced), ZERO) <= ZERO or self.waived(priced):
            return ZERO
        return self.default_fee


def shipping_terms(stream_ids: Iterable[uuid.UUID | None]) -> ShippingTerms:
    ids = {stream_id for stream_id in stream_ids if stream_id is not None}
    streams = {}
    if ids:
        rows = db.session.execute(
            sa.select(LiveStream.id, LiveStream.free_shipping_mode, LiveStream.free_shipping_threshold).where(
                LiveStream.id.in_(ids)
            )
        ).all()
        streams = {row.id: (row.free_shipping_mode, row.free_shipping_threshold) for row in rows}
    return ShippingTerms(Decimal(system_config().default_shipping_fee).quantize(CENT), streams)


def shipping_fee(priced: Iterable[tuple[uuid.UUID | None, Decimal]]) -> Decimal:
    """The fee of a cart or order: (stream id, line total) of each item."""
    priced = list(priced)
    return shipping_terms(stream_id for stream_id, _ in priced).fee(priced)
