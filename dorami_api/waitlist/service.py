"""The waitlist of a sold-out product (SPEC §6).

A user joins the queue of a sold-out product (or variant); released stock — an expired or
removed hold, a cancelled order, a restock — is offered to the first in line as a cart hold
(source WAITLIST) for the product's holdMinutes, announced by `waitlist:promoted` in their user
room. A promotion left unused until its hold expires passes on to the next in line.

Every change to a product's queue happens with that product locked (stock.lock_product), the same
lock that guards its stock and holds, so promotions can never hand out more than is available
and two processes can never promote the same entry twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.db import transactions
from dorami_api.db.after_commit import after_commit
from dorami_api.db.types import utcnow
from dorami_api.errors import Conflict, NotFound
from dorami_api.extensions import db
from dorami_api.products import events, stock
from dorami_api.products.models import Product, ProductVariant
from dorami_api.realtime import broadcast
from dorami_api.waitlist.models import WaitlistEntry
from dorami_api.web.responses import iso

OPEN_STATUSES = ("WAITING", "PROMOTED")


def hold_expiry(product: Product, now: datetime) -> datetime | None:
    """When a hold placed now on this product ends (None: holdMinutes 0, no timer)."""
    return now + timedelta(minutes=product.hold_minutes) if product.hold_minutes > 0 else None


def _available_for(product: Product, variant: ProductVariant | None) -> int:
    if variant is None:
        return stock.available_units(product)
    return min(stock.variant_available_units(variant), stock.available_units(product))


# --- promotion: called with the product locked, inside the caller's transaction ----------------


def promote_waiting_in_transaction(product: Product) -> int:
    """Offer what is available now to the queue, first come first served. Call with the product
    locked, after changing its stock or holds and before stock.settle(); the promoted users are
    told after commit. Returns the number of promotions."""
    db.session.flush()
    now = utcnow()
    waiting = db.session.scalars(
        sa.select(WaitlistEntry)
        .where(WaitlistEntry.product_id == product.id, WaitlistEntry.status == "WAITING")
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    ).all()
    promoted = 0
    for entry in waiting:
        if stock.available_units(product) <= 0:
            break
        variant = next((v for v in product.variants if v.id == entry.variant_id), None)
        if entry.variant_id is not None and variant is None:
            continue  # the variant is gone; the entry stays until its owner leaves
        quantity = min(entry.quantity, _available_for(product, variant))
        if quantity <= 0:
            continue  # this variant is still sold out; a later entry may want another one
        hold = CartHold(
            user_id=entry.user_id,
            product_id=product.id,
            variant_id=entry.variant_id,
            quantity=quantity,
            source="WAITLIST",
            expires_at=hold_expiry(product, now),
        )
        db.session.add(hold)
        db.session.flush()
        entry.status, entry.hold_id, entry.promoted_at, entry.expires_at = "PROMOTED", hold.id, now, hold.expires_at
        entry.updated_at = now
        db.session.flush()
        after_commit(broadcast.waitlist_promoted, str(entry.user_id), _promotion_json(entry, hold, product))
        promoted += 1
    return promoted


def end_promotion(hold_ids: list[uuid.UUID], status: str) -> None:
    """The WAITLIST holds ended: their entries become COMPLETED (ordered), EXPIRED (unused) or
    CANCELLED (removed from the cart). Guarded by the PROMOTED state, so it happens once."""
    if hold_ids:
        db.session.execute(
            sa.update(WaitlistEntry)
            .where(WaitlistEntry.hold_id.in_(hold_ids), WaitlistEntry.status == "PROMOTED")
            .values(status=status, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def promote_waiting(product_id: uuid.UUID) -> int:
    """For the restock path: in a transaction of its own (call it after yours has committed),
    promote the queue of this product with whatever is available, settle and announce."""

    def work() -> int:
        product = stock.lock_product(product_id)
        promoted = promote_waiting_in_transaction(product)
        if promoted:
            after_commit(events.announce_stock_change, stock.settle(product))
        return promoted

    return transactions.atomic(work)


# --- the user's side -------------------------------------------------------------------------


def join(user_id: uuid.UUID, product_id: uuid.UUID, variant_id: uuid.UUID | None, quantity: int) -> WaitlistEntry:
    def work() -> WaitlistEntry:
        product = stock.lock_product(product_id)
        if product.status == "HIDDEN":
            raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
        variant = stock.find_variant(product, variant_id)
        if _available_for(product, variant) > 0:
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
        promote_waiting_in_transaction(product)
        after_commit(events.announce_stock_change, stock.settle(product))

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


def _promotion_json(entry: WaitlistEntry, hold: CartHold, product: Product) -> dict:
    return {
        "waitlistEntryId": str(entry.id),
        "cartItemId": str(hold.id),
        "productId": str(product.id),
        "variantId": str(hold.variant_id) if hold.variant_id else None,
        "productName": product.name,
        "quantity": hold.quantity,
        "expiresAt": iso(hold.expires_at),
    }
