"""Atomic stock: the heart of live commerce (SPEC §5).

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
values read before it (those only serve the cheap `precheck`, which refuses hopeless requests
without queueing on the lock).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import joinedload

from dorami_api.cart.models import CartHold
from dorami_api.errors import DATABASE_OUTAGE, ApiError, NotFound
from dorami_api.extensions import db
from dorami_api.products.models import Product, ProductVariant

log = logging.getLogger(__name__)

LOW_STOCK_BELOW = 5
# A buyer queued behind a flash sale waits at most this long for the product lock.
LOCK_TIMEOUT_MS = 8000
# deadlock, serialization failure, lock timeout: the transaction is safe to run again.
RETRYABLE_PGCODES = {"40P01", "40001", "55P03"}

T = TypeVar("T")


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
    product: Product, variant: ProductVariant | None, quantity: int, *, ignore_hold=None
) -> int | None:
    """Raise 409 unless `quantity` units can be taken now. Call with the product locked.

    ignore_hold: a hold being converted or resized, whose own units are not counted against it.
    Returns the product's live held units when it counted them (no variant), for settle().
    """
    if product.status == "HIDDEN":
        raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
    if variant is None:
        held = held_quantity(product.id)
        on_hand = product.stock
    else:
        held = held_quantity(product.id, variant.id, any_variant=False)
        on_hand = variant.stock
    counted = held
    if ignore_hold is not None and ignore_hold.status == "ACTIVE":
        held -= ignore_hold.quantity
    refuse_unavailable(product.id, on_hand - held, quantity)
    return counted if variant is None else None  # the product's live held units


def precheck(wanted: dict[tuple[uuid.UUID, uuid.UUID | None], int]) -> dict[uuid.UUID, uuid.UUID | None]:
    """Refuse, without taking any lock, a request that cannot succeed now: the fast path that
    keeps a sold-out product cheap while thousands of buyers keep pressing "buy". Anything that
    passes is checked again under the lock; this is only an early "no". Returns each product's
    stream id (for the shipping terms, read before the lock too)."""
    product_ids = {product_id for product_id, _ in wanted}
    asked_at = time.monotonic()  # the snapshot the read sees is taken after this moment
    rows = db.session.execute(
        sa.select(Product.id, Product.stock, Product.stream_id).where(
            Product.id.in_(product_ids), Product.status != "HIDDEN"
        )
    ).all()
    on_hand = {row.id: row.stock for row in rows}
    for product_id, units in on_hand.items():
        if units <= 0:
            _note_empty(product_id, asked_at)
    variant_ids = {variant_id for _, variant_id in wanted if variant_id is not None}
    variant_stock = {}
    if variant_ids:
        variant_stock = dict(
            db.session.execute(
                sa.select(ProductVariant.id, ProductVariant.stock).where(ProductVariant.id.in_(variant_ids))
            ).all()
        )
    for (product_id, variant_id), quantity in sorted(wanted.items(), key=lambda item: str(item[0])):
        if product_id not in on_hand:
            raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
        stock_left = on_hand[product_id] if variant_id is None else variant_stock.get(variant_id, 0)
        if stock_left >= quantity:
            # Enough on hand: only the locked check can tell how much the holds take.
            continue
        refuse_unavailable(product_id, stock_left, quantity)
    return {row.id: row.stream_id for row in rows}


# --- sold out, as this process last saw it -----------------------------------------------------
# A buy may be refused as sold out if at some moment while it was being served the product had no
# units on hand: "sold out" is then the answer it would have had, served at that moment. So once
# this process has read a product at zero stock, every buy that was already waiting (the hundreds
# queued at the gate behind a flash sale) is refused without another read or a database
# connection. Buys that start later read the database as usual, so a restock is seen at once.
_seen_empty: dict[uuid.UUID, float] = {}
_SEEN_EMPTY_MAX = 10_000


def _note_empty(product_id: uuid.UUID, at: float) -> None:
    if len(_seen_empty) >= _SEEN_EMPTY_MAX:
        _seen_empty.clear()  # a bound, not a cache policy: forgetting only costs a read
    _seen_empty[product_id] = max(at, _seen_empty.get(product_id, at))


def refuse_if_seen_empty(product_ids: Iterable[uuid.UUID], since: float) -> None:
    """Refuse as sold out when this process has read one of the products at zero stock after
    `since` (the monotonic time the buy began)."""
    for product_id in sorted(product_ids, key=str):
        seen = _seen_empty.get(product_id)
        if seen is not None and seen >= since:
            refuse_unavailable(product_id, 0, 1)


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


def settle(product: Product, held: int | None = None) -> StockSettlement:
    """After any change to stock or holds (product locked, changes flushed): serve the waitlist
    of a sold-out product that has units again, then turn the product SOLD_OUT at zero available
    or AVAILABLE again after a restock, and bump its version.
    held: the product's live held units, when the caller already knows them (hot path)."""
    if held is None:
        db.session.flush()
    available = available_units(product, held)
    if available > 0 and (product.status == "SOLD_OUT" or held is None):
        # Units may have come back (restock, release, cancellation): the waitlist is served first,
        # whichever path released them, and may take them all. (Callers passing `held` only take
        # units — the purchase hot path — and skip the look at the queue.)
        from dorami_api.waitlist.service import promote_waiting_in_transaction

        if promote_waiting_in_transaction(product):
            available = available_units(product)
    became_sold_out = became_available = False
    if product.status == "AVAILABLE" and available == 0:
        product.status, became_sold_out = "SOLD_OUT", True
    elif product.status == "SOLD_OUT" and available > 0:
        product.status, became_available = "AVAILABLE", True
    product.version += 1
    product.updated_at = datetime.now(UTC)
    return StockSettlement(product.id, became_sold_out, became_available, available)


def retryable(error: BaseException) -> bool:
    code = getattr(getattr(error, "orig", None), "pgcode", None)
    return code in RETRYABLE_PGCODES


# --- the in-process gate -----------------------------------------------------------------------
# When 2,000 buyers press "buy" on one product, each process lets one of its requests at a time
# queue on that product's row lock; the others wait here, holding no database connection. The row
# lock alone guarantees correctness; the gate only keeps the pool free and the lock's queue short.
_GATE_STRIPES = 256
_gates: list | None = None


def _gate_locks() -> list:
    # Created on first use, not at import: under gevent, after monkey-patching, so that a waiting
    # request yields to the other greenlets instead of blocking its whole worker. (Two first
    # callers racing may briefly use different lists: harmless, the row lock decides.)
    global _gates
    if _gates is None:
        _gates = [threading.Lock() for _ in range(_GATE_STRIPES)]
    return _gates


@contextmanager
def gate(product_ids: Iterable[uuid.UUID]) -> Iterator[None]:
    locks = _gate_locks()
    stripes = sorted({hash(str(product_id)) % _GATE_STRIPES for product_id in product_ids})
    held = []
    try:
        for stripe in stripes:  # ascending, like the row locks: no deadlock between gates
            locks[stripe].acquire()
            held.append(stripe)
        yield
    finally:
        for stripe in reversed(held):
            locks[stripe].release()


def release_connection() -> None:
    """End the read-only transaction of the request so far (authentication, prechecks), giving
    its connection back to the pool before queueing."""
    db.session.commit()


def atomic(work: Callable[[], T], attempts: int = 3, gated: Iterable[uuid.UUID] | None = None) -> T:
    """Run work() and commit, as one transaction. A deadlock, serialization failure or lock
    timeout rolls everything back and runs work() again from the start (it must re-read what it
    needs); after the last attempt, or when no database connection frees up in time, the caller
    gets 503 SERVICE_BUSY with Retry-After rather than a 500.

    gated: products whose in-process gate is held while work() runs (hot paths). The gate opens
    before COMMIT, so the next buyer's lock request is already queued when this one commits, and
    the after-commit broadcasts run outside it."""
    gated = list(gated) if gated is not None else None
    for attempt in range(1, attempts + 1):
        try:
            if gated is None:
                result = work()
            else:
                with gate(gated):
                    result = work()
                    db.session.flush()
            db.session.commit()
            return result
        except DBAPIError as error:
            db.session.rollback()
            if not retryable(error):
                raise
            log.warning("transaction retried after %s (attempt %d)", error.orig.pgcode, attempt)
            if attempt == attempts:
                raise _busy() from None
            time.sleep(random.uniform(0.01, 0.05) * attempt)
        except PoolTimeout:
            db.session.rollback()
            raise _busy() from None
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def init_app(app) -> None:
    """Every PostgreSQL connection waits at most LOCK_TIMEOUT_MS for a row lock. A saturated
    database answers 503 with Retry-After, never a bare 500: no connection free in the pool in
    time, the server refusing connections, a statement or lock wait cut short."""
    from dorami_api.errors import error_response

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        with app.app_context():
            event.listen(db.engine, "connect", _set_lock_timeout)

    def busy(error: Exception):
        log.warning("database busy or unavailable: %s", type(error).__name__)
        try:
            db.session.rollback()
        except Exception:  # the connection may be gone too; the session is removed at teardown
            log.debug("rollback after a database error failed", exc_info=True)
        message = "The service is busy; try again"
        return error_response(503, "SERVICE_UNAVAILABLE", message, headers={"Retry-After": "1"})

    for outage in DATABASE_OUTAGE:
        app.register_error_handler(outage, busy)


def _set_lock_timeout(dbapi_connection, _record) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
    dbapi_connection.commit()


def _busy() -> ApiError:
    message = "Too many requests for this product right now; try again"
    return ApiError(503, "SERVICE_BUSY", message, None, {"Retry-After": "1"})
