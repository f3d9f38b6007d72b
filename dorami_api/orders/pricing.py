"""Prices and the shipping rule shared by the cart summary and the order.

One shipping fee per order: the system default fee, waived when a stream of the ordered products
offers free shipping — unconditionally, or from a threshold this order's subtotal reaches.
Products outside any stream never waive it. All Decimal."""

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

    def waived(self, subtotal: Decimal, stream_ids: Iterable[uuid.UUID | None]) -> bool:
        for stream_id in {s for s in stream_ids if s is not None}:
            mode, threshold = self.streams.get(stream_id, ("DISABLED", None))
            if mode == "UNCONDITIONAL":
                return True
            if mode == "THRESHOLD" and threshold is not None and subtotal >= threshold:
                return True
        return False

    def fee(self, subtotal: Decimal, stream_ids: Iterable[uuid.UUID | None]) -> Decimal:
        stream_ids = list(stream_ids)
        if subtotal <= ZERO or self.waived(subtotal, stream_ids):
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


def shipping_fee(subtotal: Decimal, stream_ids: Iterable[uuid.UUID | None]) -> Decimal:
    stream_ids = list(stream_ids)
    return shipping_terms(stream_ids).fee(subtotal, stream_ids)
