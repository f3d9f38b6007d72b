"""A stateful property test of the stock model, against real PostgreSQL through the
service layer: Hypothesis drives random sequences of what admins and three buyers do to one
product — variants added and removed, holds placed, resized, removed and expired (the sweeper
runs), cart checkouts, direct orders, cancellations and the rest of the order lifecycle,
restocks up and down, hide and show, maxPerBuyer changes, waitlist joins, leaves and promotions —
and after every step checks what must always be true:

- no stock and no availability is negative;
- a product with variants has stock = the sum of its variants' stock, and every live hold, waiting
  entry and open order line of it names one of its variants;
- no unit is stranded: what came in (the units an admin set, plus restocks) equals stock on hand
  plus the units in orders not cancelled, for the product or, with variants, for each variant;
- the status matches availability: SOLD_OUT exactly when nothing is available, unless HIDDEN;
- a hidden product sells nothing: no hold and no order line appear while it is hidden;
- nobody holds and buys more than maxPerBuyer (beyond what they had when an admin lowered it).

Every refusal must be a 4xx ApiError; anything else (a 500, an IntegrityError) fails the run.

The CI budget is fixed and derandomized (profile "ci"); HYPOTHESIS_PROFILE=long runs a larger,
randomized one (see README)."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from dorami_api.cart import service as cart
from dorami_api.cart.models import CartHold
from dorami_api.db.types import utcnow
from dorami_api.errors import ApiError
from dorami_api.extensions import db
from dorami_api.jobs import sweeps
from dorami_api.orders import batch_sale, lifecycle
from dorami_api.orders import service as orders
from dorami_api.orders.models import Order, OrderItem
from dorami_api.products import service as catalogue
from dorami_api.products import stock
from dorami_api.products.models import Product, ProductVariant
from dorami_api.products.schemas import ProductCreate, ProductUpdate, StockAdjustment, VariantIn
from dorami_api.waitlist import service as waitlist
from dorami_api.waitlist.models import WaitlistEntry
from tests.support.commerce import complete_users

settings.register_profile(
    "ci",
    max_examples=25,
    stateful_step_count=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "long",
    max_examples=300,
    stateful_step_count=60,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

BUYERS = 3
SIZES = ("S", "M", "L")
OPEN_ORDERS = ("PENDING_PAYMENT", "PAID", "SHIPPED")
NO_CAP = 10**9

buyer = st.integers(0, BUYERS - 1)
pick = st.integers(0, 7)  # which variant (or line, or order) of those there are; modulo their count
units = st.integers(1, 3)


def _refused(call) -> bool:
    """Run a service call; True if it was refused the way users are refused (4xx)."""
    try:
        call()
    except ApiError as error:
        assert 400 <= error.status < 500, (error.status, error.code, error.message)
        db.session.rollback()
        return True
    return False


def _sold(product_id: uuid.UUID, variant_id: uuid.UUID | None) -> int:
    """Units in orders not cancelled, of this variant (None: lines naming no variant)."""
    naming = OrderItem.variant_id.is_(None) if variant_id is None else OrderItem.variant_id == variant_id
    return int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(OrderItem.quantity), 0))
            .join(Order, Order.id == OrderItem.order_id)
            .where(OrderItem.product_id == product_id, naming, Order.status != "CANCELLED")
        )
    )


class StockMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # A fresh product and fresh buyers for each run: every check below reads only theirs, so
        # no table needs emptying between runs.
        self.user_ids = [user.id for user in complete_users(BUYERS)]
        created = catalogue.create_product(ProductCreate(name="Cardigan", price="30.00", stock=4, holdMinutes=10))
        self.product_id = uuid.UUID(created["id"])
        # What came in, per variant (None: the product while it has no variants). Its keys are
        # also the product's variants, in the order they were added.
        self.received: dict[uuid.UUID | None, int] = {None: 4}
        self.hidden_since = None  # when it was hidden (nothing may be held or sold after)
        self.lines_when_hidden = 0
        self.cap: int | None = None
        self.allowance = [NO_CAP] * BUYERS
        self.sizes_added = 0

    # --- reading the world -----------------------------------------------------------------

    def variants(self) -> list[ProductVariant]:
        return list(
            db.session.scalars(
                sa.select(ProductVariant)
                .where(ProductVariant.product_id == self.product_id)
                .order_by(ProductVariant.sort_order, ProductVariant.id)
                .execution_options(populate_existing=True)
            )
        )

    def variant_choice(self, index: int) -> uuid.UUID | None:
        """A variant of the product, or — one time in eight — none (refused when it has some)."""
        variants = [variant_id for variant_id in self.received if variant_id is not None]
        if not variants or index == 7:
            return None
        return variants[index % len(variants)]

    def live_holds(self, who: int) -> list[CartHold]:
        return list(
            db.session.scalars(
                sa.select(CartHold)
                .where(CartHold.user_id == self.user_ids[who], stock.live_hold_filter())
                .order_by(CartHold.created_at, CartHold.id)
            )
        )

    def orders_of(self, who: int, statuses: tuple[str, ...]) -> list[str]:
        return list(
            db.session.scalars(
                sa.select(Order.id)
                .where(Order.user_id == self.user_ids[who], Order.status.in_(statuses))
                .order_by(Order.created_at, Order.id)
            )
        )

    def claims_on(self, variant_id: uuid.UUID | None) -> bool:
        """Live holds, waiting entries or open order lines naming exactly this variant."""
        hold = CartHold.variant_id.is_(None) if variant_id is None else CartHold.variant_id == variant_id
        entry = WaitlistEntry.variant_id.is_(None) if variant_id is None else WaitlistEntry.variant_id == variant_id
        line = OrderItem.variant_id.is_(None) if variant_id is None else OrderItem.variant_id == variant_id
        held = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(CartHold)
            .where(CartHold.product_id == self.product_id, hold, stock.live_hold_filter())
        )
        waiting = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(WaitlistEntry)
            .where(WaitlistEntry.product_id == self.product_id, entry, WaitlistEntry.status == "WAITING")
        )
        ordered = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OrderItem)
            .join(Order, Order.id == OrderItem.order_id)
            .where(OrderItem.product_id == self.product_id, line, Order.status.in_(OPEN_ORDERS))
        )
        return bool(held or waiting or ordered)

    def specs(self, variants: list[ProductVariant]) -> list[VariantIn]:
        return [VariantIn(id=v.id, size=v.size, price=v.price, stock=v.stock, sortOrder=v.sort_order) for v in variants]

    def rebase(self, variant_id: uuid.UUID | None, on_hand: int) -> None:
        """An admin set the stock on hand: from now on, what came in is that plus what is sold."""
        self.received[variant_id] = on_hand + _sold(self.product_id, variant_id)

    # --- the admin ---------------------------------------------------------------------------

    @rule(on_hand=st.integers(0, 3))
    def add_variant(self, on_hand):
        variants = self.variants()
        size = next((s for s in SIZES if s not in {v.size for v in variants}), None)
        if size is None:
            return
        first = not variants
        claimed = first and self.claims_on(None)
        self.sizes_added += 1
        spec = VariantIn(size=size, price="30.00", stock=on_hand, sortOrder=self.sizes_added)
        refused = _refused(
            lambda: catalogue.update_product(self.product_id, ProductUpdate(variants=[*self.specs(variants), spec]))
        )
        assert refused == claimed, "the first variant is refused exactly while claims name no variant"
        if refused:
            return
        new = next(v for v in self.variants() if v.size == size)
        if first:
            self.received = {}
        self.received[new.id] = on_hand

    @rule(index=pick)
    def remove_variant(self, index):
        variants = self.variants()
        if not variants:
            return
        gone = variants[index % len(variants)]
        claimed = self.claims_on(gone.id)
        kept = [v for v in variants if v.id != gone.id]
        body = ProductUpdate(variants=self.specs(kept)) if kept else ProductUpdate(variants=[], stock=0)
        refused = _refused(lambda: catalogue.update_product(self.product_id, body))
        assert refused == claimed, "a variant is refused removal exactly while claims name it"
        if refused:
            return
        del self.received[gone.id]
        if not kept:
            self.rebase(None, 0)

    @rule(index=pick, on_hand=st.integers(0, 4))
    def set_variant_stock(self, index, on_hand):
        variants = self.variants()
        if not variants:
            return
        target = variants[index % len(variants)]
        specs = self.specs(variants)
        for spec in specs:
            if spec.id == target.id:
                spec.stock = on_hand
        if not _refused(lambda: catalogue.update_product(self.product_id, ProductUpdate(variants=specs))):
            self.rebase(target.id, on_hand)

    @rule(delta=st.integers(-3, 3).filter(bool), index=pick)
    def restock(self, delta, index):
        variant_id = self.variant_choice(index)
        body = StockAdjustment(delta=delta, variantId=variant_id)
        if not _refused(lambda: catalogue.adjust_stock(self.product_id, body)):
            self.received[variant_id] += delta

    @rule()
    def hide(self):
        if _refused(lambda: catalogue.update_product(self.product_id, ProductUpdate(status="HIDDEN"))):
            return
        if self.hidden_since is None:
            self.hidden_since = utcnow()
            self.lines_when_hidden = db.session.scalar(
                sa.select(sa.func.count()).select_from(OrderItem).where(OrderItem.product_id == self.product_id)
            )

    @rule()
    def show(self):
        if not _refused(lambda: catalogue.update_product(self.product_id, ProductUpdate(status="AVAILABLE"))):
            self.hidden_since = None

    @rule(cap=st.one_of(st.none(), st.integers(1, 4)))
    def set_cap(self, cap):
        if _refused(lambda: catalogue.update_product(self.product_id, ProductUpdate(maxPerBuyer=cap))):
            return
        self.cap = cap
        # A cap lowered under what someone already has does not take it away.
        used = self.world().used
        self.allowance = [NO_CAP if cap is None else max(cap, used.get(user_id, 0)) for user_id in self.user_ids]

    @rule(who=buyer, index=pick, step=st.sampled_from(("pay", "ship", "deliver", "admin-cancel")))
    def advance_order(self, who, index, step):
        ids = self.orders_of(who, OPEN_ORDERS)
        if not ids:
            return
        order_id = ids[index % len(ids)]
        moves = {
            "pay": lambda: lifecycle.confirm_payment(order_id),
            "ship": lambda: lifecycle.ship(order_id, "TRK-1"),
            "deliver": lambda: lifecycle.deliver(order_id),
            "admin-cancel": lambda: lifecycle.cancel(order_id, sources=lifecycle.ADMIN_CANCELLABLE),
        }
        _refused(moves[step])

    # --- the buyers ----------------------------------------------------------------------------

    @rule(who=buyer, index=pick, quantity=units)
    def hold(self, who, index, quantity):
        variant_id = self.variant_choice(index)
        _refused(lambda: cart.add_to_cart(self.user_ids[who], self.product_id, variant_id, quantity))

    @rule(who=buyer, index=pick, quantity=st.integers(1, 4))
    def change_hold(self, who, index, quantity):
        holds = self.live_holds(who)
        if holds:
            hold_id = holds[index % len(holds)].id
            _refused(lambda: cart.change_quantity(self.user_ids[who], hold_id, quantity))

    @rule(who=buyer, index=pick)
    def remove_hold(self, who, index):
        holds = self.live_holds(who)
        if holds:
            hold_id = holds[index % len(holds)].id
            _refused(lambda: cart.remove_item(self.user_ids[who], hold_id))

    @rule(who=buyer, index=pick)
    def expire_hold(self, who, index):
        """Time passes for one line, then the sweeper runs (expiry, cart:expired, promotions)."""
        holds = self.live_holds(who)
        if not holds:
            return
        hold = holds[index % len(holds)]
        if hold.expires_at is not None:
            hold.expires_at = utcnow() - timedelta(seconds=1)
            db.session.commit()
        sweeps.expire_holds()
        sweeps.close_stale_promotions()

    @rule(who=buyer)
    def checkout(self, who):
        _refused(lambda: orders.place_cart_order(self.user_ids[who], None, None))

    @rule(who=buyer, index=pick, quantity=units)
    def buy_directly(self, who, index, quantity):
        wanted = [orders.Wanted(self.product_id, self.variant_choice(index), quantity)]
        _refused(lambda: orders.place_direct_order(self.user_ids[who], wanted, None))

    @rule(buys=st.lists(st.tuples(buyer, pick, units, st.sampled_from((None, "a", "b"))), min_size=2, max_size=6))
    def buy_in_one_batch(self, buys):
        """Several direct orders of the product sold in one locked transaction, as a flash sale's
        queued buyers are: each must get the answer it would have had placed alone, in order."""
        wanted = [(self.user_ids[who], self.variant_choice(index), quantity, key) for who, index, quantity, key in buys]
        batch = [
            batch_sale.Buy(user_id, key, {(self.product_id, variant_id): quantity}, time.monotonic())
            for user_id, variant_id, quantity, key in wanted
        ]
        db.session.commit()
        outcomes = batch_sale.sell(batch)
        db.session.rollback()
        by_key: dict[tuple, str] = {}
        refused_at: dict[uuid.UUID | None, int] = {}  # the least quantity refused for stock, per variant
        for (user_id, variant_id, quantity, key), outcome in zip(wanted, outcomes, strict=True):
            if isinstance(outcome, ApiError):
                assert 400 <= outcome.status < 500, (outcome.status, outcome.code)
                if outcome.code in ("PRODUCT_SOLD_OUT", "INSUFFICIENT_STOCK"):
                    refused_at[variant_id] = min(quantity, refused_at.get(variant_id, quantity))
                continue
            assert isinstance(outcome, batch_sale.Sold), outcome
            order = db.session.get(Order, outcome.order_id, populate_existing=True)
            assert order.user_id == user_id and order.idempotency_key == key
            if key is not None:
                # One order per (user, key): the first of the batch's twins, or an earlier one.
                assert by_key.setdefault((user_id, key), order.id) == order.id
            if outcome.created:
                # Stock only goes down within a batch: after a refusal for stock, no later buy of
                # as many units or more of that variant can be sold.
                assert quantity < refused_at.get(variant_id, quantity + 1), (variant_id, quantity, refused_at)
                assert [(item.variant_id, item.quantity) for item in order.items] == [(variant_id, quantity)]

    @rule(who=buyer, index=pick)
    def cancel(self, who, index):
        ids = self.orders_of(who, ("PENDING_PAYMENT",))
        if ids:
            order_id = ids[index % len(ids)]
            owner = self.user_ids[who]
            _refused(lambda: lifecycle.cancel(order_id, sources=lifecycle.BUYER_CANCELLABLE, owner=owner))

    @rule(who=buyer, index=pick, quantity=st.integers(1, 2))
    def join_waitlist(self, who, index, quantity):
        variant_id = self.variant_choice(index)
        _refused(lambda: waitlist.join(self.user_ids[who], self.product_id, variant_id, quantity))

    @rule(who=buyer, index=pick)
    def leave_waitlist(self, who, index):
        entries = waitlist.my_entries(self.user_ids[who])
        if entries:
            entry_id = entries[index % len(entries)].id
            _refused(lambda: waitlist.leave(self.user_ids[who], entry_id))

    # --- what must always be true --------------------------------------------------------------

    def world(self) -> World:
        """The product as the database has it now, in five queries (the checks run after every
        step, so they are kept few)."""
        db.session.rollback()
        product = db.session.get(Product, self.product_id, populate_existing=True)
        variants = {v.id: v.stock for v in self.variants()}
        now = utcnow()
        live = stock.live_hold_filter(now)
        held = db.session.execute(
            sa.select(
                CartHold.user_id,
                CartHold.variant_id,
                sa.func.coalesce(sa.func.sum(CartHold.quantity).filter(live), 0),
                sa.func.count().filter(CartHold.created_at > (self.hidden_since or now)),
            )
            .where(CartHold.product_id == self.product_id)
            .group_by(CartHold.user_id, CartHold.variant_id)
        ).all()
        lines = db.session.execute(
            sa.select(
                Order.user_id, OrderItem.variant_id, Order.status, sa.func.sum(OrderItem.quantity), sa.func.count()
            )
            .join(Order, Order.id == OrderItem.order_id)
            .where(OrderItem.product_id == self.product_id)
            .group_by(Order.user_id, OrderItem.variant_id, Order.status)
        ).all()
        waiting_without_variant = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(WaitlistEntry)
            .where(
                WaitlistEntry.product_id == self.product_id,
                WaitlistEntry.variant_id.is_(None),
                WaitlistEntry.status == "WAITING",
            )
        )
        world = World(product, variants, waiting_without_variant=waiting_without_variant)
        for user_id, variant_id, quantity, created_since in held:
            world.held[variant_id] = world.held.get(variant_id, 0) + quantity
            world.used[user_id] = world.used.get(user_id, 0) + quantity
            world.holds_since_hidden += created_since
        for user_id, variant_id, status, quantity, count in lines:
            world.lines += count
            if status != "CANCELLED":
                world.sold[variant_id] = world.sold.get(variant_id, 0) + quantity
                world.used[user_id] = world.used.get(user_id, 0) + quantity
            if status in OPEN_ORDERS and variant_id is None:
                world.open_lines_without_variant += quantity
        return world

    @invariant()
    def stock_model_holds(self):
        world = self.world()
        product = world.product
        held_total = sum(world.held.values())
        available = max(product.stock - held_total, 0)

        # No negative stock or availability.
        assert product.stock >= 0 and all(units_on_hand >= 0 for units_on_hand in world.variants.values())

        # A product with variants: stock is their sum, and every claim names one of them.
        if world.variants:
            assert product.stock == sum(world.variants.values()), "stock is the sum of the variants'"
            assert world.held.get(None, 0) == 0, "a live hold of a product with variants names no variant"
            assert world.waiting_without_variant == 0, "a waiting entry of a product with variants names none"
            assert world.open_lines_without_variant == 0, "an open order line of a product with variants names none"
            assert set(world.held) <= set(world.variants) | {None}

        # No unit stranded: what came in = on hand + sold in orders not cancelled.
        on_hand = world.variants or {None: product.stock}
        assert set(on_hand) == set(self.received), (set(on_hand), set(self.received))
        for variant_id, units_on_hand in on_hand.items():
            sold = world.sold.get(variant_id, 0)
            assert self.received[variant_id] == units_on_hand + sold, (variant_id, units_on_hand, sold)

        # The status says what is available; a hidden product stays hidden.
        assert (product.status == "HIDDEN") == (self.hidden_since is not None)
        if self.hidden_since is None:
            assert product.status == ("SOLD_OUT" if available == 0 else "AVAILABLE"), (product.status, available)
        else:
            # Hidden: nothing held anew, nothing sold.
            assert world.holds_since_hidden == 0, "a hold was placed on a hidden product"
            assert world.lines == self.lines_when_hidden, "a hidden product was sold"

        # Nobody holds and buys more than maxPerBuyer (beyond what they had when it was lowered).
        for index, user_id in enumerate(self.user_ids):
            used = world.used.get(user_id, 0)
            assert used <= self.allowance[index], (index, used, self.cap)
            if self.cap is not None:
                self.allowance[index] = max(self.cap, used)

    def teardown(self):
        db.session.rollback()


@dataclass
class World:
    product: Product
    variants: dict[uuid.UUID, int]  # variant id → stock on hand
    held: dict[uuid.UUID | None, int] = field(default_factory=dict)  # live held units per variant
    sold: dict[uuid.UUID | None, int] = field(default_factory=dict)  # units in orders not cancelled
    used: dict[uuid.UUID, int] = field(default_factory=dict)  # per user: live holds + orders not cancelled
    waiting_without_variant: int = 0
    open_lines_without_variant: int = 0
    holds_since_hidden: int = 0
    lines: int = 0


def test_stock_model_holds_its_invariants(app):
    profile = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
    with app.app_context():
        run_state_machine_as_test(StockMachine, settings=profile)
