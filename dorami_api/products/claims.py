"""Who still has a claim on a product's units: live cart holds, waiting waitlist entries and order
lines that may yet come back (an order not yet DELIVERED or CANCELLED can still be cancelled or
returned). Two rules read them, always with the product locked:

- variants: a product with variants has stock = the sum of its variants', so every claim on it
  must name a variant — otherwise a cancelled line, an expired hold or a promotion would move units
  that belong to no variant. The first variant cannot be added while claims name none, and a
  variant cannot be removed while claims name it (409 VARIANTS_CONFLICT);
- maxPerBuyer: the units one user holds live plus those in their orders not cancelled never pass
  the product's cap (409 BUYER_LIMIT_REACHED).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.errors import Conflict
from dorami_api.extensions import db
from dorami_api.orders.models import Order, OrderItem
from dorami_api.products.models import Product
from dorami_api.products.stock import live_hold_filter
from dorami_api.waitlist.models import WaitlistEntry

# Orders whose units may still come back to stock, or be disputed: they keep their variant.
OPEN_ORDER_STATUSES = ("PENDING_PAYMENT", "PAID", "SHIPPED")


def _naming(column, variant_id: uuid.UUID | None):
    return column.is_(None) if variant_id is None else column == variant_id


def claims_naming(product_id: uuid.UUID, variant_id: uuid.UUID | None) -> list[str]:
    """What still claims units of this product under exactly this variant (None: no variant):
    any of "holds", "waitlist", "orders"."""
    held = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CartHold)
        .where(CartHold.product_id == product_id, _naming(CartHold.variant_id, variant_id), live_hold_filter())
    )
    waiting = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(WaitlistEntry)
        .where(
            WaitlistEntry.product_id == product_id,
            _naming(WaitlistEntry.variant_id, variant_id),
            WaitlistEntry.status == "WAITING",
        )
    )
    ordered = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OrderItem)
        .join(Order, Order.id == OrderItem.order_id)
        .where(
            OrderItem.product_id == product_id,
            _naming(OrderItem.variant_id, variant_id),
            Order.status.in_(OPEN_ORDER_STATUSES),
        )
    )
    return [kind for kind, count in (("holds", held), ("waitlist", waiting), ("orders", ordered)) if count]


def refuse_variant_change(product: Product, variant_id: uuid.UUID | None) -> None:
    """409 VARIANTS_CONFLICT when claims name this variant (None: claims naming no variant, before
    the product's first variant is added)."""
    claimed = claims_naming(product.id, variant_id)
    if not claimed:
        return
    if variant_id is None:
        message = "Variants cannot be added while carts, the waitlist or open orders hold this product without one"
    else:
        message = "A variant held in carts, awaited on the waitlist or in open orders cannot be removed"
    details = {"productId": str(product.id), "claimedBy": claimed}
    if variant_id is not None:
        details["variantId"] = str(variant_id)
    raise Conflict("VARIANTS_CONFLICT", message, details)


# --- maxPerBuyer ---------------------------------------------------------------------------------


def units_of_buyer(user_id: uuid.UUID, product_id: uuid.UUID) -> int:
    """Units of the product this user holds live or bought in orders not cancelled."""
    return units_of_buyers([user_id], product_id)[user_id]


def units_of_buyers(user_ids: Iterable[uuid.UUID], product_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """units_of_buyer for many users in two queries (a batch of buyers of one product)."""
    ids = set(user_ids)
    held = db.session.execute(
        sa.select(CartHold.user_id, sa.func.sum(CartHold.quantity))
        .where(CartHold.user_id.in_(ids), CartHold.product_id == product_id, live_hold_filter())
        .group_by(CartHold.user_id)
    ).all()
    bought = db.session.execute(
        sa.select(Order.user_id, sa.func.sum(OrderItem.quantity))
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.user_id.in_(ids), OrderItem.product_id == product_id, Order.status != "CANCELLED")
        .group_by(Order.user_id)
    ).all()
    units = dict.fromkeys(ids, 0)
    for user_id, quantity in (*held, *bought):
        units[user_id] += int(quantity)
    return units


def buyer_room(product: Product, user_id: uuid.UUID) -> int | None:
    """How many more units this user may hold or buy (None: no cap). Product locked."""
    if product.max_per_buyer is None:
        return None
    return max(product.max_per_buyer - units_of_buyer(user_id, product.id), 0)


def ensure_within_buyer_limit(product: Product, user_id: uuid.UUID, extra: int, *, used: int | None = None) -> None:
    """409 BUYER_LIMIT_REACHED unless the user may take `extra` more units (0: what they already
    hold and bought must still fit, e.g. at checkout after the cap was lowered). Product locked.
    used: the user's units_of_buyer, when the caller already counted them (a batch)."""
    if product.max_per_buyer is None:
        return
    used = units_of_buyer(user_id, product.id) if used is None else used
    if used + extra > product.max_per_buyer:
        raise Conflict(
            "BUYER_LIMIT_REACHED",
            f"At most {product.max_per_buyer} per buyer",
            {
                "productId": str(product.id),
                "maxPerBuyer": product.max_per_buyer,
                "alreadyHeldOrBought": used,
                "requested": extra,
            },
        )
