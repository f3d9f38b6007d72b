"""Prices and the shipping rule shared by the cart summary and the order (SPEC §6).

One shipping fee per order: the system default fee, waived when a stream of the ordered products
offers free shipping — unconditionally, or from a threshold this order's subtotal reaches.
Products outside any stream never waive it. All Decimal."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal

import sqlalchemy as sa

from dorami_api.admin.config_service import system_config
from dorami_api.common.db_types import CENT
from dorami_api.extensions import db
from dorami_api.products.models import Product, ProductVariant
from dorami_api.streaming.models import LiveStream

ZERO = Decimal("0.00")


def unit_price(product: Product, variant: ProductVariant | None) -> Decimal:
    return Decimal(variant.price if variant is not None else product.price).quantize(CENT)


def variant_label(variant: ProductVariant | None) -> str | None:
    if variant is None:
        return None
    return variant.label or " / ".join(part for part in (variant.color, variant.size) if part) or None


def shipping_waived(subtotal: Decimal, stream_ids: Iterable[uuid.UUID | None]) -> bool:
    ids = {stream_id for stream_id in stream_ids if stream_id is not None}
    if not ids:
        return False
    rows = db.session.execute(
        sa.select(LiveStream.free_shipping_mode, LiveStream.free_shipping_threshold).where(LiveStream.id.in_(ids))
    ).all()
    for mode, threshold in rows:
        if mode == "UNCONDITIONAL":
            return True
        if mode == "THRESHOLD" and threshold is not None and subtotal >= Decimal(threshold):
            return True
    return False


def shipping_fee(subtotal: Decimal, stream_ids: Iterable[uuid.UUID | None]) -> Decimal:
    if subtotal <= ZERO or shipping_waived(subtotal, stream_ids):
        return ZERO
    return Decimal(system_config().default_shipping_fee).quantize(CENT)
