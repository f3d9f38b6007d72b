"""A stateful property test of bidding, through the service on real PostgreSQL: Hypothesis drives
random sequences of bids (plain and proxy, too low, by the leader), retries of earlier bidIds,
the end moving close (anti-sniping), cancels and ends, by four bidders on one auction, and after
every step checks what must always be true:

- the accepted history is strictly increasing, and the auction's price and leader are its last row;
- the same bidId always got the same answer, whether it was decided alone or in a batch with
  other bidders' bids (one transaction), retried in the same batch or in a later one;
- units are conserved: the product's stock plus the units of an open auction plus those sold in
  the auction's order equal what the product started with;
- once ended: the winner is the last accepted bid's bidder at its amount, with exactly one order
  (none and the units back when nobody bid).

Budget: the "ci" profile of tests/products/test_stock_machine.py's kind (fixed, derandomized);
HYPOTHESIS_PROFILE=long for a larger randomized run."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from dorami_api.auctions import ending, service
from dorami_api.auctions.models import Auction, AuctionBid
from dorami_api.errors import ApiError
from dorami_api.extensions import db
from dorami_api.orders.models import Order
from dorami_api.products.models import Product
from dorami_api.streaming.models import LiveStream
from tests.support.commerce import complete_users

PROFILES = {
    "ci": settings(
        max_examples=20,
        stateful_step_count=25,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    ),
    "long": settings(
        max_examples=200,
        stateful_step_count=50,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    ),
}
BIDDERS = 4
STOCK = 3

bidder = st.integers(0, BIDDERS - 1)
steps = st.integers(-2, 6)  # the amount as increments above the least bid (negative: too low)


class BidMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.users = [user.id for user in complete_users(BIDDERS + 1)]
        stream = LiveStream(
            stream_key=f"live-{uuid.uuid4().hex[:8]}", publish_key=uuid.uuid4().hex, host_id=self.users[-1], title="S"
        )
        db.session.add(stream)
        db.session.flush()
        product = Product(name="Lot", price=Decimal("5.00"), stock=STOCK, stream_id=stream.id)
        db.session.add(product)
        db.session.commit()
        self.product_id = product.id
        self.auction_id = service.create(
            self.users[-1],
            service.NewAuction(product.id, None, 2, Decimal("10.00"), Decimal("1.50"), 60, 10, "STANDARD"),
        ).id
        service.start(self.auction_id)
        self.answers: dict[tuple[uuid.UUID, str], object] = {}
        self.done = False

    def _ask(self, user_id: uuid.UUID, amount: Decimal, bid_id: str, max_amount: Decimal | None):
        try:
            return service.place_bid(service.Bid(self.auction_id, user_id, amount, bid_id, max_amount))
        except ApiError as error:
            assert 400 <= error.status < 500, error.code
            return error.code

    def _least(self) -> Decimal:
        auction = db.session.get(Auction, self.auction_id, populate_existing=True)
        return auction.starting_price if auction.current_price is None else auction.current_price + auction.increment

    @rule(who=bidder, above=steps, proxy=st.none() | st.integers(0, 8))
    def bid(self, who, above, proxy):
        amount = max(self._least() + Decimal("1.50") * above, Decimal("0.00"))
        max_amount = None if proxy is None else amount + Decimal("1.50") * proxy
        bid_id = uuid.uuid4().hex
        answer = self._ask(self.users[who], amount, bid_id, max_amount)
        key = (self.users[who], bid_id)
        self.answers[key] = (amount, max_amount, _comparable(answer))

    @precondition(lambda self: self.answers)
    @rule(pick=st.integers(0, 1000))
    def retry(self, pick):
        keys = sorted(self.answers, key=str)
        user_id, bid_id = keys[pick % len(keys)]
        amount, max_amount, first = self.answers[(user_id, bid_id)]
        assert _comparable(self._ask(user_id, amount, bid_id, max_amount)) == first

    @rule(
        entries=st.lists(
            st.one_of(
                st.tuples(st.just("new"), bidder, steps, st.none() | st.integers(0, 8)),
                st.tuples(st.just("retry"), st.integers(0, 1000)),
                st.tuples(st.just("again"), st.integers(0, 1000)),
            ),
            min_size=2,
            max_size=6,
        ),
    )
    def batch(self, entries):
        """Several bidders' bids decided in one transaction, as a process decides the bids that
        arrive together: new bids, retries of earlier bidIds, the same bidId twice in one batch."""
        asked: list[tuple[uuid.UUID, Decimal, str, Decimal | None]] = []
        least = self._least()
        for entry in entries:
            if entry[0] == "new":
                _, who, above, proxy = entry
                amount = max(least + Decimal("1.50") * above, Decimal("0.00"))
                max_amount = None if proxy is None else amount + Decimal("1.50") * proxy
                asked.append((self.users[who], amount, uuid.uuid4().hex, max_amount))
            elif entry[0] == "retry" and self.answers:
                keys = sorted(self.answers, key=str)
                user_id, bid_id = keys[entry[1] % len(keys)]
                amount, max_amount, _ = self.answers[(user_id, bid_id)]
                asked.append((user_id, amount, bid_id, max_amount))
            elif entry[0] == "again" and asked:
                asked.append(asked[entry[1] % len(asked)])
        bids = [service.Bid(self.auction_id, user, amount, bid_id, top) for user, amount, bid_id, top in asked]
        outcomes = service.decide_bids(bids)
        assert len(outcomes) == len(bids)
        in_batch: dict[tuple[uuid.UUID, str], object] = {}
        for (user_id, amount, bid_id, max_amount), outcome in zip(asked, outcomes, strict=True):
            answer = _outcome(outcome)
            key = (user_id, bid_id)
            if key in self.answers:
                assert answer == self.answers[key][2], (answer, self.answers[key][2])
            elif key in in_batch:
                assert answer == in_batch[key]
            in_batch[key] = answer
            self.answers.setdefault(key, (amount, max_amount, answer))

    @precondition(lambda self: not self.done)
    @rule()
    def end_draws_near(self):
        _move_end(self.auction_id, seconds=2)

    @precondition(lambda self: not self.done)
    @rule()
    def end(self):
        _move_end(self.auction_id, seconds=-1)
        assert ending.end_and_settle(self.auction_id) is True
        assert ending.end_and_settle(self.auction_id) is False
        assert self.auction_id not in ending.settle_pending()
        self.done = True

    @precondition(lambda self: not self.done)
    @rule()
    def cancel(self):
        service.cancel(self.auction_id)
        self.done = True

    def teardown(self):
        if not self.done:  # no auction of an earlier example is left running into the next one
            service.cancel(self.auction_id)

    @invariant()
    def history_rises_and_the_leader_is_the_last_bid(self):
        auction = db.session.get(Auction, self.auction_id, populate_existing=True)
        rows = db.session.scalars(
            sa.select(AuctionBid)
            .where(AuctionBid.auction_id == self.auction_id, AuctionBid.accepted.is_(True))
            .order_by(AuctionBid.seq)
        ).all()
        amounts = [row.amount for row in rows]
        assert all(a < b for a, b in zip(amounts, amounts[1:], strict=False)), amounts
        if rows:
            assert auction.current_price == rows[-1].amount and auction.leader_id == rows[-1].bidder_id
            assert amounts[0] >= auction.starting_price
        else:
            assert auction.current_price is None and auction.leader_id is None
        if auction.status == "ENDED":
            assert auction.winner_id == (rows[-1].bidder_id if rows else None)
            assert auction.final_price == (rows[-1].amount if rows else None)
        db.session.rollback()

    @invariant()
    def units_are_conserved(self):
        auction = db.session.get(Auction, self.auction_id, populate_existing=True)
        product = db.session.get(Product, self.product_id, populate_existing=True)
        orders = db.session.scalars(sa.select(Order).where(Order.idempotency_key == f"auction:{self.auction_id}")).all()
        held = auction.quantity if auction.settled_at is None else 0
        sold = sum(item.quantity for order in orders for item in order.items)
        assert product.stock + held + sold == STOCK
        assert len(orders) == (1 if auction.status == "ENDED" and auction.winner_id else 0)
        db.session.rollback()


def _outcome(outcome):
    """An outcome of service.decide_bids as _ask gives it: the answer, or the error code."""
    if isinstance(outcome, ApiError):
        assert 400 <= outcome.status < 500, outcome.code
        return outcome.code
    if "errorCode" in outcome:
        return outcome["errorCode"]
    return _comparable(outcome)


def _comparable(answer):
    return {k: v for k, v in answer.items() if k != "serverTime"} if isinstance(answer, dict) else answer


def _move_end(auction_id: uuid.UUID, seconds: float) -> None:
    db.session.execute(
        sa.update(Auction)
        .where(Auction.id == auction_id, Auction.status == "RUNNING")
        .values(ends_at=sa.func.clock_timestamp() + timedelta(seconds=seconds))
    )
    db.session.commit()


def test_bidding_holds_its_invariants(app):
    with app.app_context():
        run_state_machine_as_test(BidMachine, settings=PROFILES[os.environ.get("HYPOTHESIS_PROFILE", "ci")])
