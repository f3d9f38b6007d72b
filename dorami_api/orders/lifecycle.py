"""The order lifecycle:

    PENDING_PAYMENT → PAID (admin confirms the transfer) → SHIPPED (tracking number) → DELIVERED
    PENDING_PAYMENT → CANCELLED (buyer or admin)     PAID → CANCELLED (admin)

Each transition is one guarded UPDATE ... WHERE status IN (<legal sources>): of two concurrent
attempts exactly one changes the row, the other gets 409 INVALID_ORDER_STATE. Cancelling returns
the stock under the product locks, in the same transaction as the status change, so it happens
exactly once, and offers the units to the waitlist.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime

import sqlalchemy as sa
from werkzeug.routing import BaseConverter

from dorami_api.db import transactions
from dorami_api.db.after_commit import after_commit
from dorami_api.db.types import utcnow
from dorami_api.errors import ApiError, Conflict, NotFound
from dorami_api.extensions import db
from dorami_api.orders.models import Order, OrderItem
from dorami_api.orders.notifications import announce_order_updated
from dorami_api.products import stock, stock_changes

log = logging.getLogger(__name__)
ORDER_ID = re.compile(r"ORD-\d{8}-\d{5,7}")


class OrderNumber(BaseConverter):
    """`<order_number:order_id>`: only an order number matches, so /orders/direct is never read
    as the order "direct" (and its Allow header lists POST alone)."""

    regex = r"ORD-[0-9]{8}-[0-9]{5,7}"


BUYER_CANCELLABLE = ("PENDING_PAYMENT",)
ADMIN_CANCELLABLE = ("PENDING_PAYMENT", "PAID")


def order_or_404(order_id: str) -> Order:
    """The order with this number; anything that is not an order number is simply not found."""
    order = db.session.get(Order, order_id) if ORDER_ID.fullmatch(order_id) else None
    if order is None:
        raise NotFound("ORDER_NOT_FOUND", "Order not found")
    return order


def _invalid_state(order_id: str, wanted: str) -> ApiError:
    current = db.session.scalar(sa.select(Order.status).where(Order.id == order_id))
    if current is None:
        return NotFound("ORDER_NOT_FOUND", "Order not found")
    return Conflict("INVALID_ORDER_STATE", f"An order that is {current} cannot become {wanted}", {"status": current})


def _move(order_id: str, sources: tuple[str, ...], target: str, values: dict, owner: uuid.UUID | None = None) -> bool:
    query = sa.update(Order).where(Order.id == order_id, Order.status.in_(sources))
    if owner is not None:
        query = query.where(Order.user_id == owner)
    row = db.session.execute(
        query.values(status=target, updated_at=utcnow(), **values)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    ).first()
    return row is not None


def _advance(order_id: str, source: str, target: str, **values) -> Order:
    order_or_404(order_id)

    def work() -> None:
        if not _move(order_id, (source,), target, values):
            raise _invalid_state(order_id, target)
        after_commit(announce_order_updated, order_id)

    transactions.atomic(work)
    return db.session.get(Order, order_id, populate_existing=True)


def confirm_payment(order_id: str) -> Order:
    return _advance(order_id, "PENDING_PAYMENT", "PAID", paid_at=utcnow())


def ship(order_id: str, tracking_number: str) -> Order:
    return _advance(order_id, "PAID", "SHIPPED", shipped_at=utcnow(), tracking_number=tracking_number)


def deliver(order_id: str) -> Order:
    return _advance(order_id, "SHIPPED", "DELIVERED", delivered_at=utcnow())


def cancel(
    order_id: str, *, sources: tuple[str, ...], owner: uuid.UUID | None = None, reason: str | None = None
) -> Order:
    """Cancel from one of `sources`; owner: only the buyer's own order (else 404)."""
    order = order_or_404(order_id)
    if owner is not None and order.user_id != owner:
        raise NotFound("ORDER_NOT_FOUND", "Order not found")
    items = db.session.scalars(sa.select(OrderItem).where(OrderItem.order_id == order_id)).all()
    product_ids = {item.product_id for item in items if item.product_id is not None}
    returned = [(item.product_id, item.variant_id, item.quantity) for item in items if item.product_id]

    def work() -> None:
        products = stock.lock_products(product_ids, missing_ok=True)
        now: datetime = utcnow()
        if not _move(order_id, sources, "CANCELLED", {"cancelled_at": now, "cancel_reason": reason}, owner):
            raise _invalid_state(order_id, "CANCELLED")
        for product_id, variant_id, quantity in returned:
            product = products.get(product_id)
            if product is None:
                continue  # deleted since: nothing to return it to
            variant = next((v for v in product.variants if v.id == variant_id), None)
            if variant is None and (variant_id is not None or product.variants):
                # Units of a variant that is gone, or of no variant on a product that has variants
                # now: they belong to no variant, and the product's stock must stay the sum of its
                # variants'. Removing a variant with open orders, or adding the first one while
                # open orders name none, is refused (products/claims.py), so this is only a guard.
                log.error("order %s: %d units of product %s return to no variant", order_id, quantity, product_id)
                continue
            stock.return_stock(product, variant, quantity)
        for product in products.values():
            stock_changes.units_released(product)
        after_commit(announce_order_updated, order_id)

    transactions.atomic(work)
    return db.session.get(Order, order_id, populate_existing=True)
