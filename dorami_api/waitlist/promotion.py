"""Serving the waitlist of a product with the units available now: each in line, first come first
served, gets a cart hold (source WAITLIST) for the product's holdMinutes — unless it would take them
past the product's maxPerBuyer, when the units pass to the next in line — announced by
`waitlist:promoted` in their user room after commit. Called with the product locked — the lock
that guards its stock and holds — so promotions never hand out more than is available and two
processes never promote the same entry twice. Only products/stock_changes.py promotes: whatever
frees units goes through it.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.db.after_commit import after_commit
from dorami_api.db.types import utcnow
from dorami_api.extensions import db
from dorami_api.products import claims, stock
from dorami_api.products.models import Product, ProductVariant
from dorami_api.realtime import broadcast
from dorami_api.waitlist.models import WaitlistEntry
from dorami_api.web.responses import iso


def available_for(product: Product, variant: ProductVariant | None) -> int:
    if variant is None:
        return stock.available_units(product)
    return min(stock.variant_available_units(variant), stock.available_units(product))


def promote_waiting_in_transaction(product: Product) -> int:
    """Offer what is available now to the queue, first come first served. Call with the product
    locked, after changing its stock or holds and before stock.settle(). Returns the number of
    promotions.

    A hidden product is not sold, so its queue waits: showing the product again serves it."""
    if product.status == "HIDDEN":
        return 0
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
        if variant is None and (entry.variant_id is not None or product.variants):
            # Its variant is gone, or it names none on a product that has variants now (both
            # refused by products/claims.py; a guard): the entry stays until its owner leaves.
            continue
        quantity = min(entry.quantity, available_for(product, variant))
        if quantity <= 0:
            continue  # this variant is still sold out; a later entry may want another one
        room = claims.buyer_room(product, entry.user_id)
        if room is not None and quantity > room:
            continue  # past this buyer's maxPerBuyer: the units pass to the next in line
        hold = CartHold(
            user_id=entry.user_id,
            product_id=product.id,
            variant_id=entry.variant_id,
            quantity=quantity,
            source="WAITLIST",
            expires_at=stock.hold_expiry(product, now),
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
