"""The batch of a flash sale (orders/batch_sale.py) answers each buyer as if each had been placed
alone, one after the other in arrival order: Hypothesis searches for a batch — several buyers,
repeated buyers, Idempotency-Key twins, variants, maxPerBuyer, units held in carts, buyers without
a complete profile, a hidden product — whose answers or whose stock afterwards differ from the
same buys placed one by one on a twin product, against real PostgreSQL."""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dorami_api.cart import service as cart
from dorami_api.errors import ApiError
from dorami_api.extensions import db
from dorami_api.orders import batch_sale
from dorami_api.orders import service as orders
from dorami_api.orders.models import Order
from dorami_api.products import service as catalogue
from dorami_api.products.models import Product, ProductVariant
from dorami_api.products.schemas import NewVariantIn, ProductCreate
from dorami_api.users.models import User
from tests.support.commerce import complete_users

BUYERS = 3
# A refusal for stock says "sold out" or "only N left" from whichever count answered it first (the
# availability gate counts units on hand, the locked check units on hand less the holds).
FOR_STOCK = {"PRODUCT_SOLD_OUT": "stock", "INSUFFICIENT_STOCK": "stock"}

shop = st.fixed_dictionaries(
    {
        "variants": st.booleans(),
        "stock": st.integers(0, 6),
        "cap": st.sampled_from((None, 1, 2, 3)),
        "held": st.integers(0, 2),  # units buyer 0 holds in a cart before the sale
        "hidden": st.sampled_from((False, False, False, True)),
        "incomplete": st.booleans(),  # buyer 2 has no shipping address
    }
)
# (buyer, variant: 0, 1 or 2 = none, quantity, Idempotency-Key)
buys = st.lists(
    st.tuples(st.integers(0, BUYERS - 1), st.integers(0, 2), st.integers(1, 3), st.sampled_from((None, "a", "b"))),
    min_size=2,
    max_size=8,
)


def _product(spec: dict) -> tuple[uuid.UUID, list[uuid.UUID | None]]:
    """A product as the spec says, and its variant choices (index 2: no variant)."""
    variants = []
    if spec["variants"]:
        variants = [
            NewVariantIn(size="S", price="10.00", stock=spec["stock"], sortOrder=0),
            NewVariantIn(size="M", price="12.00", stock=max(spec["stock"] - 1, 0), sortOrder=1),
        ]
    created = catalogue.create_product(
        ProductCreate(
            name="Cardigan",
            price="30.00",
            stock=None if variants else spec["stock"],
            maxPerBuyer=spec["cap"],
            status="HIDDEN" if spec["hidden"] else "AVAILABLE",
            variants=variants,
        )
    )
    product_id = uuid.UUID(created["id"])
    variant_ids = list(
        db.session.scalars(
            sa.select(ProductVariant.id)
            .where(ProductVariant.product_id == product_id)
            .order_by(ProductVariant.sort_order)
        )
    )
    return product_id, [*variant_ids, None] if variant_ids else [None, None, None]


def _prepared(spec: dict, user_ids: list[uuid.UUID]) -> tuple[uuid.UUID, list[uuid.UUID | None]]:
    product_id, choices = _product(spec)
    if spec["held"] and not spec["hidden"]:
        try:
            cart.add_to_cart(user_ids[0], product_id, choices[0], spec["held"])
        except ApiError:
            db.session.rollback()  # not that many on hand: no hold
    return product_id, choices


def _state(product_id: uuid.UUID) -> tuple:
    db.session.rollback()
    product = db.session.get(Product, product_id, populate_existing=True)
    variants = db.session.scalars(
        sa.select(ProductVariant.stock)
        .where(ProductVariant.product_id == product_id)
        .order_by(ProductVariant.sort_order)
    ).all()
    return product.stock, product.status, list(variants)


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(spec=shop, wanted=buys)
def test_a_batch_answers_each_buyer_as_if_placed_alone_in_arrival_order(app, spec, wanted):
    with app.app_context():
        user_ids = [user.id for user in complete_users(BUYERS)]
        if spec["incomplete"]:
            db.session.get(User, user_ids[2]).shipping_address_enc = None
            db.session.commit()
        batched, batched_choices = _prepared(spec, user_ids)
        alone, alone_choices = _prepared(spec, user_ids)

        outcomes = batch_sale.sell(
            [
                batch_sale.Buy(user_ids[who], key, {(batched, batched_choices[pick]): quantity}, time.monotonic())
                for who, pick, quantity, key in wanted
            ]
        )
        seen: dict[tuple, str] = {}  # (buyer, key) -> the order the batch gave its first buy
        batch_answers = []
        for (who, _, _, key), outcome in zip(wanted, outcomes, strict=True):
            if isinstance(outcome, ApiError):
                batch_answers.append(FOR_STOCK.get(outcome.code, outcome.code))
                continue
            assert isinstance(outcome, batch_sale.Sold), outcome
            if key is not None:
                assert seen.setdefault((who, key), outcome.order_id) == outcome.order_id
            batch_answers.append(("sold", outcome.created))

        alone_answers = []
        for who, pick, quantity, key in wanted:
            line = [orders.Wanted(alone, alone_choices[pick], quantity)]
            try:
                _, created = orders.place_direct_order(user_ids[who], line, key and f"{key}-alone")
            except ApiError as refusal:
                db.session.rollback()
                alone_answers.append(FOR_STOCK.get(refusal.code, refusal.code))
                continue
            alone_answers.append(("sold", created))

        # The same buys sold, the same twins found; the same refusals — but a refusal for stock
        # from the gate may answer before the locked checks, and the gate is read once for a
        # batch but after each sale for buys placed alone.
        assert len(batch_answers) == len(alone_answers)
        for batch_answer, alone_answer in zip(batch_answers, alone_answers, strict=True):
            refused = isinstance(batch_answer, str) and isinstance(alone_answer, str)
            assert batch_answer == alone_answer or (refused and "stock" in (batch_answer, alone_answer)), (
                batch_answers,
                alone_answers,
            )
        assert _state(batched) == _state(alone)
        # Every order the batch created is there, with its buyer's key and one line.
        for (who, _, quantity, key), outcome in zip(wanted, outcomes, strict=True):
            if isinstance(outcome, batch_sale.Sold) and outcome.created:
                order = db.session.get(Order, outcome.order_id)
                assert (order.user_id, order.idempotency_key) == (user_ids[who], key)
                assert [item.quantity for item in order.items] == [quantity]
