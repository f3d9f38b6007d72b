"""Atomic stock: the heart of live commerce.

available = stock − live cart holds. A hold is live while ACTIVE and not past `expires_at`, so an
expired hold frees its units the moment it expires, whether or not a job has swept it.

Every change that can move available stock runs inside one transaction that first locks the
product row (`lock_product` / `lock_products`): one product's purchases, holds, cancellations
and restocks are serialised in PostgreSQL, across any number of processes, so no interleaving can
oversell, drive stock negative (a CHECK constraint backs this up) or lose a unit. Variants keep
their own stock, but their changes lock the parent product row too, so the product's status is
always settled under the same lock. Several products are always locked in ascending id order, so
two multi-item transactions cannot deadlock.

Under READ COMMITTED every statement after the lock sees everything committed before the lock
was granted — which is why availability is always computed *after* `lock_product`, never from
values read before it (those only serve the cheap precheck of products/flash_sale.py, which
refuses hopeless requests without queueing on the lock).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from dorami_api.cart.models import CartHold
from dorami_api.db.after_commit import after_commit
from dorami_api.db.types import utcnow
from dorami_api.errors import ApiError, NotFound
from dorami_api.extensions import db
from dorami_api.products import availability
from dorami_api.products.models import Product, ProductVariant

LOW_STOCK_BELOW = 5


def live_hold_filter(now=None):
    """Holds that still hold: ACTIVE and not past their expiry at `now` (a datetime, or a bind
    parameter for a statement built once and run with each request's clock)."""
    if now is None:
        now = utcnow()
    return sa.and_(
        CartHold.status == "ACTIVE",
        sa.or_(CartHold.expires_at.is_(None), CartHold.expires_at > now),
    )


def held_quantity(product_id: uuid.UUID, variant_id: uuid.UUID | None = None, *, any_variant: bool = True) -> int:
    """Units held by live holds: of the whole product (any_variant) or of one variant."""
    query = sa.select(sa.func.coalesce(sa.func.sum(CartHold.quantity), 0)).where(
        CartHold.product_id == product_id, live_hold_filter()
    )
    if not any_variant:
        query = query.where(CartHold.variant_id.is_(None) if variant_id is None else CartHold.variant_id == variant_id)
    return int(db.session.scalar(query))


def held_by_variant(product_id: uuid.UUID) -> dict[uuid.UUID | None, int]:
    """Live held units of one product per variant (None: lines naming no variant), one query."""
    rows = db.session.execute(
        sa.select(CartHold.variant_id, sa.func.sum(CartHold.quantity))
        .where(CartHold.product_id == product_id, live_hold_filter())
        .group_by(CartHold.variant_id)
    )
    return {variant_id: int(total) for variant_id, total in rows}


def held_by_product(product_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Live held units for many products in one query (lists)."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        sa.select(CartHold.product_id, sa.func.sum(CartHold.quantity))
        .where(CartHold.product_id.in_(product_ids), live_hold_filter())
        .group_by(CartHold.product_id)
    )
    return {product_id: int(total) for product_id, total in rows}


def available_units(product: Product, held: int | None = None) -> int:
    held = held_quantity(product.id) if held is None else held
    return max(product.stock - held, 0)


def variant_available_units(variant: ProductVariant) -> int:
    return max(variant.stock - held_quantity(variant.product_id, variant.id, any_variant=False), 0)


def lock_product(product_id: uuid.UUID) -> Product:
    """Load the product with a row lock held until the transaction ends (FOR NO KEY UPDATE on
    PostgreSQL, which still lets other rows reference it; SQLite, single-process, serialises
    writers on its own)."""
    return lock_products([product_id])[product_id]


def lock_products(product_ids: Iterable[uuid.UUID], *, missing_ok: bool = False) -> dict[uuid.UUID, Product]:
    """Lock several products in ascending id order (the one order every path uses).
    missing_ok: skip products deleted since (else 404)."""
    ids = sorted(set(product_ids), key=str)
    products: dict[uuid.UUID, Product] = {}
    # Locked one by one in a fixed order: a single IN (...) query may lock in plan order. The
    # variants come in the same round trip (the lock is on the product row only).
    for product_id in ids:
        product = (
            db.session.execute(
                sa.select(Product)
                .options(joinedload(Product.variants))
                .where(Product.id == product_id)
                .with_for_update(key_share=True, of=Product)
                .execution_options(populate_existing=True)
            )
            .unique()
            .scalar_one_or_none()
        )
        if product is None:
            if missing_ok:
                continue
            raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
        products[product_id] = product
    return products


def hold_expiry(product: Product, now: datetime) -> datetime | None:
    """When a hold placed now on this product ends (None: holdMinutes 0, no timer)."""
    return now + timedelta(minutes=product.hold_minutes) if product.hold_minutes > 0 else None


def renewed_expiry(product: Product, hold: CartHold, now: datetime) -> datetime | None:
    """A live line's expiry when its quantity grows (a merged add, a PATCH up): holdMinutes from
    now, but never past 2 × holdMinutes after the line's first hold (`created_at`), however often
    it is touched, so that no account can keep units held for ever; never earlier than it was."""
    if product.hold_minutes <= 0:
        return None
    span = timedelta(minutes=product.hold_minutes)
    renewed = min(now + span, hold.created_at + 2 * span)
    return renewed if hold.expires_at is None or renewed > hold.expires_at else hold.expires_at


def find_variant(product: Product, variant_id: uuid.UUID | None) -> ProductVariant | None:
    """The variant being bought. A product with variants must be bought by variant."""
    if variant_id is None:
        if product.variants:
            raise ApiError(400, "VARIANT_REQUIRED", "Choose a variant of this product")
        return None
    variant = next((v for v in product.variants if v.id == variant_id), None)
    if variant is None:
        raise NotFound("VARIANT_NOT_FOUND", "Variant not found")
    return variant


def refuse_unavailable(product_id: uuid.UUID, available: int, quantity: int) -> None:
    """The one shape of a stock refusal: sold out, or not that many left."""
    if available <= 0:
        raise ApiError(409, "PRODUCT_SOLD_OUT", "This product is sold out", {"productId": str(product_id)})
    if quantity > available:
        raise ApiError(
            409,
            "INSUFFICIENT_STOCK",
            f"Only {available} left",
            {"productId": str(product_id), "available": available, "requested": quantity},
        )


def ensure_available(
    product: Product, variant: ProductVariant | None, quantity: int, *, ignore_hold=None, held: int | None = None
) -> int | None:
    """Raise 409 unless `quantity` units can be taken now. Call with the product locked.

    ignore_hold: a hold being converted or resized, whose own units are not counted against it.
    held: the live held units of the product (no variant) or of the variant, when the caller
    already counted them (a batch of buyers of one product).
    Returns the product's live held units when it counted them (no variant), for settle().
    """
    if product.status == "HIDDEN":
        raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
    if variant is None:
        held = held_quantity(product.id) if held is None else held
        on_hand = product.stock
    else:
        held = held_quantity(product.id, variant.id, any_variant=False) if held is None else held
        on_hand = variant.stock
    counted = held
    if ignore_hold is not None and ignore_hold.status == "ACTIVE":
        held -= ignore_hold.quantity
    refuse_unavailable(product.id, on_hand - held, quantity)
    return counted if variant is None else None  # the product's live held units


def take_stock(product: Product, variant: ProductVariant | None, quantity: int) -> None:
    """Remove sold units from stock (the product is locked and availability checked)."""
    if variant is not None:
        variant.stock -= quantity
    product.stock -= quantity


def return_stock(product: Product, variant: ProductVariant | None, quantity: int) -> None:
    if variant is not None:
        variant.stock += quantity
    product.stock += quantity


@dataclass(frozen=True)
class StockSettlement:
    """What a settled change means for listeners: the status transition, if any."""

    product_id: uuid.UUID
    became_sold_out: bool
    became_available: bool
    available: int
    promoted: int = 0  # waitlist promotions made with the released units (products/stock_changes.py)


def settle(product: Product, held: int | None = None) -> StockSettlement:
    """After any change to stock or holds (product locked, changes flushed): turn the product
    SOLD_OUT at zero available or AVAILABLE again after a restock, and bump its version. Units
    that came back go through products/stock_changes.py, which serves the waitlist before this.
    held: the product's live held units, when the caller already knows them (hot path)."""
    if held is None:
        db.session.flush()
    available = available_units(product, held)
    became_sold_out = became_available = False
    if product.status == "AVAILABLE" and available == 0:
        product.status, became_sold_out = "SOLD_OUT", True
    elif product.status == "SOLD_OUT" and available > 0:
        product.status, became_available = "AVAILABLE", True
    product.version += 1
    product.updated_at = utcnow()
    # Every stock change ends here: the availability gate learns of it once it has committed.
    after_commit(availability.publish, product.id, product.version, product.stock, product.status == "HIDDEN")
    return StockSettlement(product.id, became_sold_out, became_available, available)
