"""Placing orders: from the cart (all or selected lines) or directly.

One transaction per order: lock the products (ascending ids), check, take the stock, write the
order with its snapshots, commit; broadcasts go out after commit. The order number is taken just
before, in a short transaction of its own (orders/numbering.py), so that the day's counter row is
not held for as long as the product locks. An Idempotency-Key
makes a retried request return the first order: checked before any work, again under the product
locks (a concurrent twin of the request commits before we get them), and finally enforced by the
unique (user_id, idempotency_key) constraint — the loser rolls back everything and answers with
the winner's order.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dorami_api.cart.models import CartHold
from dorami_api.db import transactions
from dorami_api.db.after_commit import after_commit
from dorami_api.db.read_only import read_without_transaction
from dorami_api.db.types import utcnow
from dorami_api.errors import ApiError, Conflict, NotFound
from dorami_api.extensions import db
from dorami_api.orders import admission, batch_sale, numbering, pricing, rows
from dorami_api.orders.models import Order, OrderItem
from dorami_api.orders.notifications import announce_new_order
from dorami_api.orders.rows import Buyer, Line
from dorami_api.orders.serializers import order_json
from dorami_api.products import claims, flash_sale, stock, stock_changes
from dorami_api.products.models import Product, ProductVariant
from dorami_api.users.models import User
from dorami_api.waitlist import promotion


@dataclass(frozen=True)
class Wanted:
    product_id: uuid.UUID
    variant_id: uuid.UUID | None
    quantity: int


def find_by_key(user_id: uuid.UUID, key: str) -> Order | None:
    return db.session.scalar(
        sa.select(Order)
        .where(Order.user_id == user_id, Order.idempotency_key == key)
        .execution_options(populate_existing=True)
    )


def buyer(user_id: uuid.UUID) -> Buyer:
    """Who is buying: a complete profile is required; its address is snapshot decrypted."""
    return rows.snapshot(db.session.get(User, user_id))


def _idempotent(user_id: uuid.UUID, key: str | None, place: Callable[[], Order]) -> tuple[Order, bool]:
    """(order, created). The same key from the same user always yields the first order."""
    if key:
        existing = find_by_key(user_id, key)
        if existing is not None:
            return existing, False
    try:
        order_id = place()
    except IntegrityError as error:
        db.session.rollback()
        winner = find_by_key(user_id, key) if key else None
        if winner is None:
            raise error
        return winner, False
    if isinstance(order_id, Order):  # an earlier twin found under the lock
        return order_id, False
    return db.session.get(Order, order_id, populate_existing=True), True


def _write_order(
    order_id: str,
    who: Buyer,
    key: str | None,
    lines: list[Line],
    terms: pricing.ShippingTerms,
) -> str:
    """Write the order (products locked, stock taken and settled), queue its broadcast."""
    order, items = rows.order_rows(order_id, who, key, lines, terms)
    db.session.add(Order(**order, items=[OrderItem(**item) for item in items]))
    after_commit(announce_new_order, order_id)
    return order_id


def place_direct_order(user_id: uuid.UUID, wanted: list[Wanted], key: str | None) -> tuple[dict, bool]:
    """Buy without a cart. Lines of the same product and variant are added together. Returns the
    order as the API shows it (orders/serializers.py) and whether it is new.

    The hot path of a flash sale: refuse from the availability gate first, refuse early without a
    lock when the stock is gone, give the connection back while queueing, and keep the locked
    section to a few statements. An order of one product is sold in a batch with the other buyers
    of the product this process has waiting (orders/batch_sale.py): one locked transaction for
    all. An order of several products takes an order slot (orders/admission.py) and is placed
    alone."""
    totals: dict[tuple[uuid.UUID, uuid.UUID | None], int] = {}
    for item in wanted:
        totals[(item.product_id, item.variant_id)] = totals.get((item.product_id, item.variant_id), 0) + item.quantity
    product_ids = {product_id for product_id, _ in totals}
    began = time.monotonic()
    # A sold-out product's buyers are refused here, from Redis: no order slot, no connection.
    try:
        unknown = flash_sale.refuse_from_gate(totals)
    except ApiError:
        if key and (twin := find_by_key(user_id, key)) is not None:
            return order_json(twin), False  # the retry of a request that took the last units
        raise

    def read_before_lock() -> tuple[Buyer, pricing.ShippingTerms]:
        flash_sale.refuse_if_seen_empty(product_ids, since=began)
        # Plain reads before the lock: outside a transaction (no BEGIN/COMMIT round trips); the
        # locked part runs in one of its own.
        read_without_transaction()
        streams = flash_sale.precheck(totals, rebuild=unknown)
        who = buyer(user_id)
        terms = pricing.shipping_terms(streams.values())
        transactions.release_connection()
        return who, terms

    def place_alone(who: Buyer, terms: pricing.ShippingTerms):
        def work():
            try:
                # Again after the gate: buyers queued behind a sale that has just sold out are
                # refused here, without touching the row lock — most without even a read, once
                # this process has seen the product at zero.
                flash_sale.refuse_if_seen_empty(product_ids, since=began)
                flash_sale.recheck(totals)
            except ApiError:
                if key and (twin := find_by_key(user_id, key)) is not None:
                    return twin  # a twin of this request took the last units meanwhile
                raise
            order_id = numbering.take_order_id()
            products = stock.lock_products(product_ids)
            if key and (twin := find_by_key(user_id, key)) is not None:
                return twin
            for product_id, product in products.items():
                wanted_units = sum(q for (wanted_id, _), q in totals.items() if wanted_id == product_id)
                claims.ensure_within_buyer_limit(product, user_id, wanted_units)
            lines, held = [], {}
            for (product_id, variant_id), quantity in totals.items():
                product = products[product_id]
                variant = stock.find_variant(product, variant_id)
                counted = stock.ensure_available(product, variant, quantity)
                stock.take_stock(product, variant, quantity)
                lines.append(Line(product, variant, quantity))
                held[product_id] = counted if variant is None and len(totals) == 1 else None
            for product_id, product in products.items():
                stock_changes.units_taken(product, held.get(product_id))
            return _write_order(order_id, who, key, lines, terms)

        return transactions.atomic(work, gate=lambda: flash_sale.gate(product_ids))

    def placed_alone() -> tuple[dict, bool]:
        order, created = _idempotent(user_id, key, lambda: place_alone(*read_before_lock()))
        return order_json(order), created

    if len(product_ids) > 1:
        with admission.slot():
            return placed_alone()
    # One product: no order slot (orders/admission.py) — the buyer waits in its product's batch
    # holding no connection, and the batch's seller uses one for all of them. Every read and
    # check happens once for the whole batch, whose seller also makes this buyer's answer and
    # broadcasts.
    if key and (existing := find_by_key(user_id, key)) is not None:
        return order_json(existing), False
    flash_sale.refuse_if_seen_empty(product_ids, since=began)
    transactions.release_connection()  # hold no connection while queueing
    (product_id,) = product_ids
    outcome = flash_sale.sell_in_batch(product_id, batch_sale.Buy(user_id, key, totals, began), batch_sale.sell)
    if outcome is batch_sale.SELL_ALONE:
        with admission.slot():
            return placed_alone()
    if isinstance(outcome, ApiError):
        if key and (twin := find_by_key(user_id, key)) is not None:
            return order_json(twin), False  # a twin of this request took the last units meanwhile
        raise outcome
    if outcome.created:
        return outcome.body, True
    return order_json(db.session.get(Order, outcome.order_id, populate_existing=True)), False


def place_held_order(
    user_id: uuid.UUID,
    product: Product,
    variant: ProductVariant | None,
    quantity: int,
    unit_price: Decimal,
    key: str,
) -> str:
    """The order of units already taken out of stock for this buyer (an auction's lot), at the
    agreed price, with the usual shipping rules. Inside the caller's transaction, the product
    locked; the unique (user, Idempotency-Key) makes a second one impossible."""
    who = buyer(user_id)
    terms = pricing.shipping_terms([product.stream_id])
    return _write_order(numbering.take_order_id(), who, key, [Line(product, variant, quantity, unit_price)], terms)


def _cart_holds(user_id: uuid.UUID, item_ids: list[uuid.UUID] | None) -> list[CartHold]:
    query = sa.select(CartHold).where(CartHold.user_id == user_id)
    # Listed lines are read whatever their state (to say why they cannot be bought).
    query = query.where(CartHold.id.in_(item_ids)) if item_ids else query.where(CartHold.status == "ACTIVE")
    return db.session.scalars(query.order_by(CartHold.created_at).execution_options(populate_existing=True)).all()


def place_cart_order(user_id: uuid.UUID, item_ids: list[uuid.UUID] | None, key: str | None) -> tuple[Order, bool]:
    """Check out the cart: the holds already reserve the units, so each becomes sold stock."""

    def place():
        who = buyer(user_id)
        holds = _cart_holds(user_id, item_ids)
        product_ids = {hold.product_id for hold in holds}
        terms = pricing.shipping_terms(
            db.session.scalars(sa.select(Product.stream_id).where(Product.id.in_(product_ids))).all()
        )

        def work():
            order_id = numbering.take_order_id()
            products = stock.lock_products(product_ids)
            if key and (twin := find_by_key(user_id, key)) is not None:
                return twin
            holds = _checkable_holds(user_id, item_ids, products)
            for product_id in {hold.product_id for hold in holds}:
                # The holds already count against the cap; it may have been lowered since.
                claims.ensure_within_buyer_limit(products[product_id], user_id, 0)
            lines = []
            for hold in holds:
                product = products[hold.product_id]
                if product.status == "HIDDEN":
                    # Hidden after the hold was placed: not sold while hidden. The hold stays as it
                    # is (its units counted, its timer running), so checking out after the product
                    # is shown again works, and an expiry returns the units as usual.
                    raise NotFound("PRODUCT_NOT_FOUND", "Product not found", {"productId": str(product.id)})
                variant = stock.find_variant(product, hold.variant_id)
                on_hand = variant.stock if variant is not None else product.stock
                if on_hand < hold.quantity:  # stock was cut below what the carts hold
                    stock.refuse_unavailable(product.id, on_hand, hold.quantity)
                stock.take_stock(product, variant, hold.quantity)
                hold.status, hold.updated_at = "ORDERED", utcnow()
                lines.append(Line(product, variant, hold.quantity))
            promotion.end_promotion([hold.id for hold in holds if hold.source == "WAITLIST"], "COMPLETED")
            used = {hold.product_id for hold in holds}
            for product_id, product in products.items():
                if product_id in used:
                    stock_changes.units_taken(product)
            return _write_order(order_id, who, key, lines, terms)

        return transactions.atomic(work)

    return _idempotent(user_id, key, place)


def _checkable_holds(
    user_id: uuid.UUID, item_ids: list[uuid.UUID] | None, products: dict[uuid.UUID, Product]
) -> list[CartHold]:
    """The holds to check out, read again under the product locks. Listed lines must all be
    live; the whole cart means its live lines (CART_EXPIRED when only expired ones are left)."""
    now = utcnow()
    holds = _cart_holds(user_id, item_ids)
    if item_ids:
        found = {hold.id: hold for hold in holds}
        missing = [str(i) for i in item_ids if i not in found or found[i].status in ("ORDERED", "RELEASED")]
        if missing:
            raise NotFound("CART_ITEM_NOT_FOUND", "Cart item not found", {"itemIds": missing})
    expired = [h for h in holds if h.status == "EXPIRED" or (h.expires_at is not None and h.expires_at <= now)]
    if not item_ids:
        live = [hold for hold in holds if hold not in expired]
        holds, expired = live, (expired if not live else [])
    if expired:
        raise Conflict(
            "CART_EXPIRED",
            "Some cart items have expired; add them again",
            {"itemIds": [str(hold.id) for hold in expired]},
        )
    holds = [hold for hold in holds if hold.status == "ACTIVE"]
    if not holds:
        raise Conflict("CART_EMPTY", "Your cart is empty")
    if any(hold.product_id not in products for hold in holds):
        # A line for a new product appeared after we chose which products to lock.
        raise ApiError(409, "CART_CHANGED", "Your cart changed while checking out; try again")
    return holds


def page_orders(conditions: list, page: int, limit: int) -> tuple[list[Order], int]:
    """One page of orders matching `conditions`, newest first, and how many match in all."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(*conditions))
    orders = db.session.scalars(
        sa.select(Order)
        .where(*conditions)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .offset((page - 1) * limit)
        .limit(limit)
    ).all()
    return list(orders), total
