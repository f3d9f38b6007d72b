"""Cart holds: adding to the cart holds stock for the product's holdMinutes.

A repeated add merges into the live line; the timer restarts only when the quantity grows (a merge
or a PATCH up), and never past 2 × holdMinutes after the line's first hold (stock.renewed_expiry).
A quantity change re-checks availability; the product's maxPerBuyer caps what one user holds and
buys (products/claims.py); removing a line or clearing the cart frees its units at once (and
offers them to the waitlist). Every change runs under the product lock (products/stock.py); every stock change is
announced after commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.db import transactions
from dorami_api.db.types import utcnow
from dorami_api.errors import ApiError, Conflict, NotFound
from dorami_api.extensions import db
from dorami_api.products import claims, flash_sale, stock, stock_changes
from dorami_api.products.models import Product, ProductVariant
from dorami_api.streaming.models import LiveStream
from dorami_api.waitlist import promotion

MAX_LINE_QUANTITY = 100


@dataclass(frozen=True)
class CartLine:
    # Session objects (cart_line), or the cart read's plain values (cart_lines).
    hold: CartHold | HeldLine
    product: Product | ProductOfLine
    variant: ProductVariant | VariantOfLine | None
    # Read with the line by cart_lines (one query for the whole cart), else None: the product's
    # stream key and its free-shipping terms (mode, threshold).
    stream_key: str | None = None
    shipping: tuple[str, Decimal | None] | None = None


def _same_variant(variant_id: uuid.UUID | None):
    return CartHold.variant_id.is_(None) if variant_id is None else CartHold.variant_id == variant_id


def _check_line_quantity(quantity: int) -> None:
    if quantity > MAX_LINE_QUANTITY:
        raise ApiError(400, "QUANTITY_TOO_LARGE", f"At most {MAX_LINE_QUANTITY} units per cart line")


def add_to_cart(user_id: uuid.UUID, product_id: uuid.UUID, variant_id: uuid.UUID | None, quantity: int) -> CartHold:
    def work() -> uuid.UUID:
        product = stock.lock_product(product_id)
        if product.status == "HIDDEN":
            raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
        variant = stock.find_variant(product, variant_id)
        claims.ensure_within_buyer_limit(product, user_id, quantity)
        now = utcnow()
        line = db.session.scalar(
            sa.select(CartHold)
            .where(
                CartHold.user_id == user_id,
                CartHold.product_id == product_id,
                _same_variant(variant_id),
                stock.live_hold_filter(now),
            )
            .order_by(CartHold.created_at)
            .limit(1)
            .execution_options(populate_existing=True)
        )
        if line is not None:
            total = line.quantity + quantity
            _check_line_quantity(total)
            # The line already holds its units: only the extra ones must be available.
            counted = stock.ensure_available(product, variant, quantity)
            line.quantity, line.expires_at, line.updated_at = total, stock.renewed_expiry(product, line, now), now
        else:
            counted = stock.ensure_available(product, variant, quantity)
            line = CartHold(
                user_id=user_id,
                product_id=product_id,
                variant_id=variant_id,
                quantity=quantity,
                expires_at=stock.hold_expiry(product, now),
            )
            db.session.add(line)
        held_now = counted + quantity if counted is not None else None
        stock_changes.units_taken(product, held_now)
        db.session.flush()
        return line.id

    _check_line_quantity(quantity)
    flash_sale.precheck({(product_id, variant_id): quantity})  # sold out: refused without queueing
    transactions.release_connection()
    return db.session.get(CartHold, transactions.atomic(work, gate=lambda: flash_sale.gate([product_id])))


def _my_hold(user_id: uuid.UUID, hold_id: uuid.UUID) -> CartHold:
    query = sa.select(CartHold).where(CartHold.id == hold_id, CartHold.user_id == user_id)
    hold = db.session.scalar(query.execution_options(populate_existing=True))
    if hold is None or hold.status not in ("ACTIVE", "EXPIRED"):
        raise NotFound("CART_ITEM_NOT_FOUND", "Cart item not found")
    return hold


def _is_expired(hold: CartHold, now: datetime) -> bool:
    return hold.status == "EXPIRED" or (hold.expires_at is not None and hold.expires_at <= now)


def change_quantity(user_id: uuid.UUID, hold_id: uuid.UUID, quantity: int) -> CartHold:
    _check_line_quantity(quantity)
    product_id = _my_hold(user_id, hold_id).product_id

    def work() -> None:
        product = stock.lock_product(product_id)
        hold = _my_hold(user_id, hold_id)
        now = utcnow()
        if _is_expired(hold, now):
            raise Conflict("CART_EXPIRED", "This cart item has expired", {"itemIds": [str(hold.id)]})
        variant = stock.find_variant(product, hold.variant_id)
        before = hold.quantity
        if quantity > before:
            claims.ensure_within_buyer_limit(product, user_id, quantity - before)
            stock.ensure_available(product, variant, quantity, ignore_hold=hold)
            # Only growth restarts the timer: touching a line cannot keep it alive.
            hold.expires_at = stock.renewed_expiry(product, hold, now)
        hold.quantity, hold.updated_at = quantity, now
        if quantity < before:  # units freed: the waitlist is offered them first
            stock_changes.units_released(product)
        else:
            stock_changes.units_taken(product)

    transactions.atomic(work)
    return db.session.get(CartHold, hold_id)


def _release(product: Product, holds: list[CartHold]) -> None:
    """Free these holds' units now (product locked): the waitlist is offered them first."""
    now = utcnow()
    ids = [hold.id for hold in holds if hold.status == "ACTIVE"]
    if ids:
        db.session.execute(
            sa.update(CartHold)
            .where(CartHold.id.in_(ids), CartHold.status == "ACTIVE")
            .values(status="RELEASED", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        promotion.end_promotion([hold.id for hold in holds if hold.source == "WAITLIST"], "CANCELLED")
    # Expired lines that no job has swept yet simply leave the cart.
    stale = [hold.id for hold in holds if hold.status == "EXPIRED"]
    if stale:
        db.session.execute(
            sa.update(CartHold)
            .where(CartHold.id.in_(stale))
            .values(status="RELEASED", updated_at=now)
            .execution_options(synchronize_session=False)
        )
    stock_changes.units_released(product)


def remove_item(user_id: uuid.UUID, hold_id: uuid.UUID) -> None:
    product_id = _my_hold(user_id, hold_id).product_id

    def work() -> None:
        product = stock.lock_product(product_id)
        _release(product, [_my_hold(user_id, hold_id)])

    transactions.atomic(work)


def clear_cart(user_id: uuid.UUID) -> None:
    def mine() -> list[CartHold]:
        return db.session.scalars(
            sa.select(CartHold)
            .where(CartHold.user_id == user_id, CartHold.status.in_(("ACTIVE", "EXPIRED")))
            .execution_options(populate_existing=True)
        ).all()

    product_ids = {hold.product_id for hold in mine()}

    def work() -> None:
        products = stock.lock_products(product_ids)
        by_product: dict[uuid.UUID, list[CartHold]] = {}
        for hold in mine():
            if hold.product_id in products:  # a line added meanwhile waits for the next clear
                by_product.setdefault(hold.product_id, []).append(hold)
        for product_id, holds in by_product.items():
            _release(products[product_id], holds)

    if product_ids:
        transactions.atomic(work)


@dataclass(frozen=True)
class HeldLine:
    """A cart hold as the cart read returns it: the fields line_json shows, named as on CartHold."""

    id: uuid.UUID
    quantity: int
    source: str
    status: str
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ProductOfLine:
    """A line's product, named as on Product (what pricing and line_json read)."""

    id: uuid.UUID
    name: str
    image_url: str | None
    stream_id: uuid.UUID | None
    price: Decimal


@dataclass(frozen=True)
class VariantOfLine:
    """A line's variant, named as on ProductVariant (what pricing reads)."""

    id: uuid.UUID
    price: Decimal
    label: str | None
    color: str | None
    size: str | None


# The whole cart in one Core statement built once per process: `GET /cart` is a signed-in
# client's most frequent read, and building the ORM statement, its cache key and the ORM result
# (entities in the identity map that nothing edits) was most of its CPU. The clock is a
# parameter of the live-hold rule so that the statement can be reused.
_CART_READ = (
    sa.select(
        CartHold.id,
        CartHold.quantity,
        CartHold.source,
        CartHold.status,
        CartHold.expires_at,
        CartHold.created_at,
        CartHold.updated_at,
        Product.id.label("product_id"),
        Product.name,
        Product.image_url,
        Product.stream_id,
        Product.price,
        ProductVariant.id.label("variant_id"),
        ProductVariant.price.label("variant_price"),
        ProductVariant.label,
        ProductVariant.color,
        ProductVariant.size,
        LiveStream.stream_key,
        LiveStream.free_shipping_mode,
        LiveStream.free_shipping_threshold,
    )
    .join(Product, Product.id == CartHold.product_id)
    .outerjoin(ProductVariant, ProductVariant.id == CartHold.variant_id)
    .outerjoin(LiveStream, LiveStream.id == Product.stream_id)
    .where(
        CartHold.user_id == sa.bindparam("user_id"),
        stock.live_hold_filter(sa.bindparam("now")),
    )
    .order_by(CartHold.created_at, CartHold.id)
)


def cart_lines(user_id: uuid.UUID, now: datetime | None = None) -> list[CartLine]:
    """The user's live holds, oldest first (expired ones no longer hold anything), each with its
    product, variant and stream terms: one query for the whole cart, read-only (the lines are
    plain values, not session objects)."""
    rows = db.session.connection().execute(_CART_READ, {"user_id": user_id, "now": now or utcnow()})
    return [_line_of(row) for row in rows]


def _line_of(row) -> CartLine:
    hold = HeldLine(row.id, row.quantity, row.source, row.status, row.expires_at, row.created_at, row.updated_at)
    product = ProductOfLine(row.product_id, row.name, row.image_url, row.stream_id, row.price)
    variant = None
    if row.variant_id is not None:
        variant = VariantOfLine(row.variant_id, row.variant_price, row.label, row.color, row.size)
    shipping = (row.free_shipping_mode, row.free_shipping_threshold) if row.stream_key is not None else None
    return CartLine(hold, product, variant, row.stream_key, shipping)


def cart_line(user_id: uuid.UUID, hold_id: uuid.UUID) -> CartLine:
    hold = _my_hold(user_id, hold_id)
    product = db.session.get(Product, hold.product_id)
    variant = db.session.get(ProductVariant, hold.variant_id) if hold.variant_id else None
    return CartLine(hold, product, variant)
