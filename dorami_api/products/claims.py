"""Who still has a claim on a product's units: live cart holds, waiting waitlist entries and order
lines that may yet come back (an order not yet DELIVERED or CANCELLED can still be cancelled or
returned). The rules that read them run with the product locked:

- variants: a product with variants has stock = the sum of its variants', so every claim on it
  must name a variant — otherwise a cancelled line, an expired hold or a promotion would move units
  that belong to no variant. The first variant cannot be added while claims name none, and a
  variant cannot be removed while claims name it (409 VARIANTS_CONFLICT).
"""

from __future__ import annotations

import uuid

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

