"""Selling one product to a batch of buyers in one locked transaction: the direct orders of one
product that one process has waiting (products/flash_sale.py `sell_in_batch`).

In a flash sale every buyer's locked section is the same few round trips (lock, held units, the
buyer's claims, the stock update, the order and its items, commit), and while the lock holder
waits on each of them the process's other greenlets run, so each sale took as long as hundreds
of other requests' work. A batch takes the product lock once, counts the holds and the buyers'
claims for all of them in one query each, decides each buyer in arrival order against the stock
left by those before it, writes every order and every item in one multi-row INSERT each, and
commits once. It takes one connection for all of it, and each new order's answer and broadcasts
are made from what was written, with no read after the commit: under a sale the pool's queue is
long (every buyer's and viewer's authentication), and every checkout waits behind all of it.

Each buyer's rules are the ones a buyer placed alone meets (orders/service.py): hidden product,
variant required or unknown, units available, maxPerBuyer (counting what the buyers before it in
the batch took), the total's bound, and the Idempotency-Key — an order already committed with the
key, or an earlier buyer of the batch with the same user and key, is that buyer's answer. A buyer
whose rule fails is refused alone; the others are sold. When the insert still meets the unique
(user, Idempotency-Key) constraint (a twin for another product committed meanwhile), the batch
rolls back and every buyer of it is placed alone, where that race is handled.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dorami_api.db import transactions
from dorami_api.db.after_commit import after_commit
from dorami_api.errors import ApiError, NotFound
from dorami_api.extensions import db
from dorami_api.orders import numbering, pricing, rows
from dorami_api.orders.models import Order, OrderItem
from dorami_api.orders.notifications import announce_new_orders
from dorami_api.orders.serializers import order_json
from dorami_api.products import availability, claims, flash_sale, stock, stock_changes
from dorami_api.settings.service import system_config
from dorami_api.streaming.models import stream_keys

# An outcome telling the buyer to be placed on its own (the batch could not decide it).
SELL_ALONE = object()


@dataclass(frozen=True)
class Buy:
    """One buyer's direct order of one product."""

    user_id: uuid.UUID
    key: str | None
    wanted: flash_sale.Wanted  # (product, variant) -> units, all of one product
    began: float  # monotonic time the buy began (the seen-empty memory)


@dataclass(frozen=True)
class Sold:
    order_id: str
    created: bool  # False: the order of an earlier request with the same Idempotency-Key
    body: dict | None = None  # the new order as the API shows it (orders/serializers.py)


Outcome = Sold | ApiError | object  # object: SELL_ALONE


def sell(buys: Sequence[Buy]) -> list[Outcome]:
    """One outcome per buy, in order. Raises only what fails the whole batch (503 busy, a
    database error): every buy of it then failed alike, and nothing of it was committed."""
    (product_id,) = {product_id for buy in buys for product_id, _ in buy.wanted}
    outcomes: list[Outcome | None] = [None] * len(buys)

    def refuse(indexes: list[int], check: Callable[[Buy], None]) -> list[int]:
        """Run check(buy) for each; record its refusal, return the buys still going."""
        going = []
        for index in indexes:
            try:
                check(buys[index])
            except ApiError as refusal:
                outcomes[index] = refusal
                continue
            going.append(index)
        return going

    # The early "no" of each buy that waited its turn, from one read of the gate.
    known = availability.units_on_hand([product_id])

    def refuse_early(buy: Buy) -> None:
        flash_sale.refuse_if_seen_empty([product_id], since=buy.began)
        flash_sale.refuse_from_known(buy.wanted, known)

    pending = refuse(list(range(len(buys))), refuse_early)
    if not pending:
        return outcomes
    waiting = pending

    def work() -> dict[int, Outcome]:
        # Everything this batch reads and writes goes through one connection, taken once: under
        # a sale the pool's queue is long (every buyer's and viewer's authentication), and each
        # new checkout would wait behind all of it. The reads before the lock are once for the
        # batch: the product's committed units and stream (rebuilding a missing gate entry), the
        # buyers, the shipping terms, the stream's key and the shop settings (for the answers).
        nonlocal pending
        pending = waiting
        found = flash_sale.committed_units([product_id], rebuild={product_id} if known[product_id] is None else ())
        who = rows.buyers({buys[index].user_id for index in pending})
        committed = {row.id: row.stock for row in found}

        def refuse_committed(buy: Buy) -> None:
            if not found:  # hidden or deleted
                raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
            flash_sale.refuse_from_known(buy.wanted, committed)
            if isinstance(who[buy.user_id], ApiError):
                raise who[buy.user_id]

        pending = refuse(pending, refuse_committed)
        if not pending:
            return {}
        stream_ids = [row.stream_id for row in found]
        terms = pricing.shipping_terms(stream_ids)
        keys, config = stream_keys(stream_ids), system_config()
        numbers = dict(zip(pending, numbering.take_order_ids(len(pending)), strict=True))

        decided: dict[int, Outcome] = {}
        product = stock.lock_products([product_id], missing_ok=True).get(product_id)
        if product is None:
            return dict.fromkeys(pending, NotFound("PRODUCT_NOT_FOUND", "Product not found"))
        earlier = _orders_by_key({(buys[i].user_id, buys[i].key) for i in pending if buys[i].key})
        held = stock.held_by_variant(product_id)
        used = {}
        if product.max_per_buyer is not None:
            used = claims.units_of_buyers({buys[i].user_id for i in pending}, product_id)
        placed: dict[int, Order] = {}
        for index in pending:
            buy = buys[index]
            if buy.key and (buy.user_id, buy.key) in earlier:
                decided[index] = Sold(earlier[(buy.user_id, buy.key)], created=False)
                continue
            try:
                lines = _checked_lines(product, buy, held, used)
                order, items = rows.order_rows(numbers[index], who[buy.user_id], buy.key, lines, terms)
            except ApiError as refusal:
                decided[index] = refusal
                continue
            for line in lines:
                stock.take_stock(product, line.variant, line.quantity)
            if product.max_per_buyer is not None:
                used[buy.user_id] += sum(buy.wanted.values())
            if buy.key:
                earlier[(buy.user_id, buy.key)] = order["id"]
            # The order as written, kept off the session: its answer and its broadcasts are made
            # from it, with no read after the commit.
            placed[index] = Order(**order, items=[OrderItem(**item, order_id=order["id"]) for item in items])
        if placed:
            orders = list(placed.values())
            db.session.execute(sa.insert(Order.__table__), [_row(order, Order) for order in orders])
            db.session.execute(
                sa.insert(OrderItem.__table__), [_row(item, OrderItem) for order in orders for item in order.items]
            )
            stock_changes.units_taken(product, sum(held.values()))
            names = {order.user_id: who[order.user_id].shown_as for order in orders}
            after_commit(announce_new_orders, orders, keys, names, config)
            for index, order in placed.items():
                decided[index] = Sold(order.id, created=True, body=order_json(order, config))
        return decided

    try:
        decided = transactions.atomic(work)
    except IntegrityError:
        decided = dict.fromkeys(waiting, SELL_ALONE)
    for index, outcome in decided.items():
        outcomes[index] = outcome
    return outcomes


def _row(instance, model) -> dict:
    """The column values of a transient order or item, for a multi-row INSERT."""
    return {column.key: getattr(instance, column.key) for column in model.__table__.columns}


def _orders_by_key(keyed: set[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], str]:
    """The committed orders of these (user, Idempotency-Key) pairs, one query."""
    if not keyed:
        return {}
    found = db.session.execute(
        sa.select(Order.user_id, Order.idempotency_key, Order.id).where(
            sa.tuple_(Order.user_id, Order.idempotency_key).in_(sorted(keyed, key=str))
        )
    )
    return {(user_id, key): order_id for user_id, key, order_id in found}


def _checked_lines(product, buy: Buy, held: dict[uuid.UUID | None, int], used: dict[uuid.UUID, int]) -> list[rows.Line]:
    """The buy's lines, each rule checked against the stock the buys before it left (the product
    locked). Raises the buyer's refusal."""
    if product.max_per_buyer is not None:
        claims.ensure_within_buyer_limit(product, buy.user_id, sum(buy.wanted.values()), used=used[buy.user_id])
    lines = []
    for (_, variant_id), quantity in buy.wanted.items():
        variant = stock.find_variant(product, variant_id)
        counted = sum(held.values()) if variant is None else held.get(variant.id, 0)
        stock.ensure_available(product, variant, quantity, held=counted)
        lines.append(rows.Line(product, variant, quantity))
    return lines
