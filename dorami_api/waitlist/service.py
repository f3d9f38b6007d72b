"""The waitlist of a sold-out product, the user's side: join, positions, leave.

A user joins the queue of a sold-out product (or variant); released stock — an expired or
removed hold, a cancelled order, a restock — is offered to the first in line as a cart hold
(waitlist/promotion.py). A promotion left unused until its hold expires passes on to the next in
line. Every change to a product's queue happens with that product locked (stock.lock_product).
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.db import transactions
from dorami_api.db.types import utcnow
from dorami_api.errors import Conflict, NotFound
from dorami_api.extensions import db
from dorami_api.products import stock, stock_changes
from dorami_api.products.models import Product
from dorami_api.waitlist.models import WaitlistEntry
from dorami_api.waitlist.promotion import available_for
from dorami_api.web.responses import iso

OPEN_STATUSES = ("WAITING", "PROMOTED")


def promote_waiting(product_id: uuid.UUID) -> int:
    """For a restock made outside the catalogue: in a transaction of its own (call it after yours
    has committed), serve the queue of this product with whatever is available, settle and
    announce. Returns the number of promotions."""

    def work() -> int:
        return stock_changes.units_released(stock.lock_product(product_id)).promoted

    return transactions.atomic(work)


# --- the user's side -------------------------------------------------------------------------


def join(user_id: uuid.UUID, product_id: uuid.UUID, variant_id: uuid.UUID | None, quantity: int) -> WaitlistEntry:
    def work() -> WaitlistEntry:
        product = stock.lock_product(product_id)
        if product.status == "HIDDEN":
            raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
        variant = stock.find_variant(product, variant_id)
        if available_for(product, variant) > 0:
            raise Conflict("PRODUCT_AVAILABLE", "This product is in stock: add it to your cart instead")
        duplicate = db.session.scalar(
            sa.select(WaitlistEntry.id).where(
                WaitlistEntry.user_id == user_id,
                WaitlistEntry.product_id == product_id,
                WaitlistEntry.variant_id.is_(None) if variant_id is None else WaitlistEntry.variant_id == variant_id,
                WaitlistEntry.status.in_(OPEN_STATUSES),
            )
        )
        if duplicate is not None:
            raise Conflict("ALREADY_ON_WAITLIST", "You are already waiting for this product")
        entry = WaitlistEntry(user_id=user_id, product_id=product_id, variant_id=variant_id, quantity=quantity)
        db.session.add(entry)
        db.session.flush()
        return entry

    entry = transactions.atomic(work)
    return db.session.get(WaitlistEntry, entry.id)


def my_entries(user_id: uuid.UUID) -> list[WaitlistEntry]:
    return db.session.scalars(
        sa.select(WaitlistEntry)
        .where(WaitlistEntry.user_id == user_id, WaitlistEntry.status.in_(OPEN_STATUSES))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    ).all()


def my_entry(user_id: uuid.UUID, entry_id: uuid.UUID) -> WaitlistEntry:
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.user_id != user_id:
        raise NotFound("WAITLIST_ENTRY_NOT_FOUND", "Waitlist entry not found")
    return entry


def position(entry: WaitlistEntry) -> int | None:
    """1 = next in line. None once the entry is no longer waiting. Each variant has its own line
    (units released for one size serve that size's queue), so only entries for the same variant
    — or, without variants, the product — count as ahead."""
    if entry.status != "WAITING":
        return None
    ahead = db.session.scalar(
        sa.select(sa.func.count()).where(
            WaitlistEntry.product_id == entry.product_id,
            WaitlistEntry.variant_id.is_not_distinct_from(entry.variant_id),
            WaitlistEntry.status == "WAITING",
            sa.or_(
                WaitlistEntry.created_at < entry.created_at,
                sa.and_(WaitlistEntry.created_at == entry.created_at, WaitlistEntry.id < entry.id),
            ),
        )
    )
    return int(ahead) + 1


def leave(user_id: uuid.UUID, entry_id: uuid.UUID) -> None:
    """Leave the queue; leaving after a promotion gives the held units to the next in line."""
    product_id = my_entry(user_id, entry_id).product_id

    def work() -> None:
        product = stock.lock_product(product_id)
        entry = db.session.get(WaitlistEntry, entry_id, populate_existing=True)
        if entry.status not in OPEN_STATUSES:
            return  # already left, completed or expired: nothing to do
        was_promoted, hold_id = entry.status == "PROMOTED", entry.hold_id
        entry.status, entry.updated_at = "CANCELLED", utcnow()
        if not was_promoted:
            return
        if hold_id is not None:
            db.session.execute(
                sa.update(CartHold)
                .where(CartHold.id == hold_id, CartHold.status == "ACTIVE")
                .values(status="RELEASED", updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        stock_changes.units_released(product)

    transactions.atomic(work)


def entry_json(entry: WaitlistEntry) -> dict:
    product = db.session.get(Product, entry.product_id)
    return {
        "id": str(entry.id),
        "productId": str(entry.product_id),
        "variantId": str(entry.variant_id) if entry.variant_id else None,
        "productName": product.name if product else None,
        "quantity": entry.quantity,
        "status": entry.status,
        "position": position(entry),
        "holdId": str(entry.hold_id) if entry.hold_id else None,
        "promotedAt": iso(entry.promoted_at),
        "expiresAt": iso(entry.expires_at),
        "createdAt": iso(entry.created_at),
    }
