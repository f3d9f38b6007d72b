"""Atomic stock: the heart of live commerce (SPEC §5).

available = stock − live cart holds. A hold is live while ACTIVE and not past `expires_at`, so an
expired hold frees its units the moment it expires, whether or not a job has swept it.

Every change that can move available stock runs inside one transaction that first locks the
product row (`lock_product`): one product's purchases, holds, cancellations and restocks are
serialised in PostgreSQL, across any number of processes, so no interleaving can oversell, drive
stock negative (a CHECK constraint backs this up) or lose a unit. Variants keep their own stock,
but their changes lock the parent product row too, so the product's status is always settled
under the same lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.errors import ApiError, NotFound
from dorami_api.extensions import db
from dorami_api.products.models import Product, ProductVariant

LOW_STOCK_BELOW = 5


def live_hold_filter(now: datetime | None = None):
    now = now or datetime.now(UTC)
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
    """Load the product with a row lock held until the transaction ends (FOR UPDATE on
    PostgreSQL; SQLite, single-process, serialises writers on its own)."""
    product = db.session.scalar(
        sa.select(Product).where(Product.id == product_id).with_for_update().execution_options(populate_existing=True)
    )
    if product is None:
        raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
    return product


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


def ensure_available(product: Product, variant: ProductVariant | None, quantity: int, *, ignore_hold=None) -> None:
    """Raise 409 unless `quantity` units can be taken now. Call with the product locked.

    ignore_hold: a hold being converted or resized, whose own units are not counted against it.
    """
    if product.status == "HIDDEN":
        raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
    if variant is None:
        held = held_quantity(product.id)
        on_hand = product.stock
    else:
        held = held_quantity(product.id, variant.id, any_variant=False)
        on_hand = variant.stock
    if ignore_hold is not None and ignore_hold.status == "ACTIVE":
        held -= ignore_hold.quantity
    available = on_hand - held
    if available <= 0:
        raise ApiError(409, "PRODUCT_SOLD_OUT", "This product is sold out", {"productId": str(product.id)})
    if quantity > available:
        raise ApiError(
            409,
            "INSUFFICIENT_STOCK",
            f"Only {available} left",
            {"productId": str(product.id), "available": available, "requested": quantity},
        )


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


def settle(product: Product) -> StockSettlement:
    """After any change to stock or holds (product locked, changes flushed): turn the product
    SOLD_OUT at zero available or AVAILABLE again after a restock, and bump its version."""
    db.session.flush()
    available = available_units(product)
    became_sold_out = became_available = False
    if product.status == "AVAILABLE" and available == 0:
        product.status, became_sold_out = "SOLD_OUT", True
    elif product.status == "SOLD_OUT" and available > 0:
        product.status, became_available = "AVAILABLE", True
    product.version += 1
    product.updated_at = datetime.now(UTC)
    return StockSettlement(product.id, became_sold_out, became_available, available)
