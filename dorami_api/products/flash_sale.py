"""Keeping a hot product cheap while thousands of buyers press "buy" at once. None of this decides
correctness — the product's row lock does (products/stock.py) — it only keeps hopeless requests
away from that lock and the connection pool:

- the availability gate (products/availability.py): a buyer of a product whose last committed
  stock change left too few units is refused from Redis, before an order slot, a database
  connection or a read;
- precheck: refuse, without any lock, a request that cannot succeed now;
- the seen-empty memory: once this process has read a product at zero stock, the buys that were
  already waiting are refused without another read;
- the gate: each process lets one request per product at a time queue on the row lock; the others
  wait here, holding no database connection;
- the batches (direct orders of one product): while one batch of a product's buyers is being
  sold, the buyers that arrive queue here, holding no database connection, and the first of them
  then sells all of them in one locked transaction (orders/batch_sale.py). The row lock is taken
  once per batch instead of once per buyer, so the lock holder's few round trips are shared by
  every buyer of the batch instead of each buyer yielding to all the others at each of them.

What a process keeps (the gate's locks, the seen-empty memory) is made in init_app and kept on
the app: each app gets its own, and the locks are made after gevent's monkey-patching, so a
waiting request yields to the other greenlets instead of blocking its whole worker.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask, current_app

from dorami_api.batches import Batches
from dorami_api.errors import NotFound, service_busy
from dorami_api.extensions import db
from dorami_api.products import availability
from dorami_api.products.models import Product, ProductVariant
from dorami_api.products.stock import refuse_unavailable

GATE_STRIPES = 256
SEEN_EMPTY_MAX = 10_000
BATCH_MAX = 100  # buyers sold in one locked transaction at most


class FlashSale:
    """This process's gate locks, its batches and its memory of products read at zero stock."""

    def __init__(self) -> None:
        self.gates = [threading.Lock() for _ in range(GATE_STRIPES)]
        self.batches = Batches(BATCH_MAX, interrupted=_busy)
        # product id -> the latest monotonic moment a read that saw it at zero stock began
        self.seen_empty: dict[uuid.UUID, float] = {}

    def note_empty(self, product_id: uuid.UUID, at: float) -> None:
        if len(self.seen_empty) >= SEEN_EMPTY_MAX:
            self.seen_empty.clear()  # a bound, not a cache policy: forgetting only costs a read
        self.seen_empty[product_id] = max(at, self.seen_empty.get(product_id, at))


def init_app(app: Flask) -> None:
    app.extensions["flash_sale"] = FlashSale()


def _state() -> FlashSale:
    return current_app.extensions["flash_sale"]


Wanted = dict[tuple[uuid.UUID, uuid.UUID | None], int]  # (product, variant) -> units


def refuse_from_gate(wanted: Wanted) -> set[uuid.UUID]:
    """Refuse from the availability gate a buy that the last committed stock change of one of its
    products already answers (a line without a variant wanting more than is on hand). Returns the
    products the gate knows nothing of, for precheck to rebuild."""
    known = availability.units_on_hand(sorted({product_id for product_id, _ in wanted}, key=str))
    refuse_from_known(wanted, known)
    return {product_id for product_id, units in known.items() if units is None}


def refuse_from_known(wanted: Wanted, known: dict[uuid.UUID, int | None]) -> None:
    """refuse_from_gate's rule, from units already read from the gate."""
    for (product_id, variant_id), quantity in sorted(wanted.items(), key=lambda item: str(item[0])):
        units = known.get(product_id)
        if variant_id is None and units is not None and units < quantity:
            refuse_unavailable(product_id, units, quantity)


def recheck(wanted: Wanted) -> None:
    """The early "no" again, for a buy that has waited its turn: from the gate, and from
    PostgreSQL only where the gate cannot say (no entry, a variant)."""
    unknown = refuse_from_gate(wanted)
    if unknown or any(variant_id is not None for _, variant_id in wanted):
        precheck(wanted, rebuild=unknown)


def committed_units(product_ids: Iterable[uuid.UUID], rebuild: Iterable[uuid.UUID] = frozenset()) -> list:
    """The products' committed stock, stream and version (hidden ones left out), read without a
    lock. Remembers those at zero (the seen-empty memory) and publishes to the availability gate
    those in `rebuild` (their entry is missing)."""
    asked_at = time.monotonic()  # the snapshot the read sees is taken after this moment
    rows = db.session.execute(
        sa.select(Product.id, Product.stock, Product.stream_id, Product.version).where(
            Product.id.in_(set(product_ids)), Product.status != "HIDDEN"
        )
    ).all()
    state = _state()
    for row in rows:
        if row.id in rebuild:
            availability.publish(row.id, row.version, row.stock)
        if row.stock <= 0:
            state.note_empty(row.id, asked_at)
    return rows


def precheck(wanted: Wanted, rebuild: set[uuid.UUID] = frozenset()) -> dict[uuid.UUID, uuid.UUID | None]:
    """Refuse, without taking any lock, a request that cannot succeed now. Anything that passes
    is checked again under the lock; this is only an early "no". Returns each product's stream id
    (for the shipping terms, read before the lock too). `rebuild`: products whose gate entry is
    missing, published from this read of committed rows."""
    product_ids = {product_id for product_id, _ in wanted}
    rows = committed_units(product_ids, rebuild)
    on_hand = {row.id: row.stock for row in rows}
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


def refuse_if_seen_empty(product_ids: Iterable[uuid.UUID], since: float) -> None:
    """Refuse as sold out when this process has read one of the products at zero stock after
    `since` (the monotonic time the buy began). A buy may be refused as sold out if at some moment
    while it was being served the product had no units on hand: "sold out" is then the answer it
    would have had, served at that moment. Buys that start later read the database as usual, so a
    restock is seen at once."""
    seen_empty = _state().seen_empty
    for product_id in sorted(product_ids, key=str):
        seen = seen_empty.get(product_id)
        if seen is not None and seen >= since:
            refuse_unavailable(product_id, 0, 1)


@contextmanager
def gate(product_ids: Iterable[uuid.UUID]) -> Iterator[None]:
    """Hold the gate of these products (for db.transactions.atomic's `gate`)."""
    locks = _state().gates
    stripes = sorted({hash(str(product_id)) % GATE_STRIPES for product_id in product_ids})
    held = []
    try:
        for stripe in stripes:  # ascending, like the row locks: no deadlock between gates
            locks[stripe].acquire()
            held.append(stripe)
        yield
    finally:
        for stripe in reversed(held):
            locks[stripe].release()


def sell_in_batch(product_id: uuid.UUID, request: object, sell: Callable[[list], Sequence]) -> object:
    """Queue this buy of one product for the next batch of this process and return its outcome:
    sell(requests) -> one outcome per request, run by the first buyer of the batch, in its own
    request, holding no other batch of the product (raises what sell raised for the whole batch)."""
    return _state().batches.submit(product_id, request, sell)


def _busy() -> BaseException:
    """What the other buyers of a batch hear when the buyer selling it is killed meanwhile."""
    return service_busy("Too many orders are being placed right now; try again")
