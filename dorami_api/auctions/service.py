"""The rules of an auction. No request objects: the routes and the socket handler call these.

Bids: decided under the auction row's lock (SELECT ... FOR UPDATE), so the bids of one auction
are serialised in PostgreSQL whatever process received them: accepted amounts are strictly
increasing and the leader is always the highest accepted bid. The bids that reach one process
together are decided together, in arrival order, in one such transaction (batches.py): one lock,
one read of the bidders and of the answers already given, one multi-row INSERT, one COMMIT. Every
answer given under the lock is stored with the bidder's `bidId` (unique per auction and bidder),
so a retry — in the same batch, or a concurrent one in another process, which waits for the lock
and then finds the first answer committed — gets the same answer. Proxy bids (`maxAmount`) are
resolved inside that same transaction.

Time is the database's clock (`clock_timestamp()`), read after the lock: the one clock every
process and host agrees on, the one the ending drivers (ending.py) compare `ends_at` with.

Stock: the auctioned units leave the product's stock when the auction is created
(`stock_changes.units_taken`); a cancel, or an end without bids, gives them back through
`stock_changes.units_released` (waitlist first). Anything that locks both a product and an
auction locks the product first, as orders do; bids and the end lock only the auction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dorami_api.auctions import batches, ending, events
from dorami_api.auctions.ending import clock, lock, not_found, release_units
from dorami_api.auctions.models import Auction, AuctionBid
from dorami_api.auctions.serializers import minimum_bid
from dorami_api.db import transactions
from dorami_api.db.after_commit import after_commit
from dorami_api.db.types import money_str, new_uuid, utcnow
from dorami_api.errors import DATABASE_OUTAGE, ApiError, Conflict, Forbidden
from dorami_api.extensions import db
from dorami_api.products import stock, stock_changes
from dorami_api.users.models import User
from dorami_api.web.fields import MONEY_MAX
from dorami_api.web.responses import iso, now_iso

OPEN = ("SCHEDULED", "RUNNING")


@dataclass(frozen=True)
class NewAuction:
    product_id: uuid.UUID
    variant_id: uuid.UUID | None
    quantity: int
    starting_price: Decimal
    increment: Decimal
    duration_seconds: int
    anti_snipe_seconds: int
    mode: str


@dataclass(frozen=True)
class Bid:
    auction_id: uuid.UUID
    user_id: uuid.UUID
    amount: Decimal
    bid_id: str
    max_amount: Decimal | None = None


def get(auction_id: uuid.UUID) -> Auction:
    auction = db.session.get(Auction, auction_id, populate_existing=True)
    if auction is None:
        raise not_found()
    return auction


def of_stream(stream_id: uuid.UUID) -> list[Auction]:
    return list(
        db.session.scalars(
            sa.select(Auction).where(Auction.stream_id == stream_id).order_by(Auction.created_at.desc()).limit(100)
        )
    )


# --- admin: create, start, cancel ----------------------------------------------------------------


def create(admin_id: uuid.UUID, new: NewAuction) -> Auction:
    """SCHEDULED, with its units taken out of the product's available stock."""

    def work() -> uuid.UUID:
        product = stock.lock_product(new.product_id)
        if product.stream_id is None:
            raise Conflict("AUCTION_NEEDS_STREAM", "Only a product of a live stream can be auctioned")
        variant = stock.find_variant(product, new.variant_id)
        stock.ensure_available(product, variant, new.quantity)
        stock.take_stock(product, variant, new.quantity)
        stock_changes.units_taken(product)
        auction = Auction(
            product_id=product.id,
            variant_id=variant.id if variant else None,
            stream_id=product.stream_id,
            quantity=new.quantity,
            starting_price=new.starting_price,
            increment=new.increment,
            duration_seconds=new.duration_seconds,
            anti_snipe_seconds=new.anti_snipe_seconds,
            mode=new.mode,
            created_by=admin_id,
        )
        db.session.add(auction)
        db.session.flush()
        return auction.id

    return get(transactions.atomic(work))


def start(auction_id: uuid.UUID) -> Auction:
    """SCHEDULED → RUNNING, ending `durationSeconds` from now on the database's clock."""

    def work() -> bool:
        now = clock()
        started = db.session.execute(
            sa.update(Auction)
            .where(Auction.id == auction_id, Auction.status == "SCHEDULED")
            .values(status="RUNNING", started_at=now, version=Auction.version + 1, updated_at=utcnow())
            .returning(Auction.id, Auction.started_at, Auction.duration_seconds)
            .execution_options(synchronize_session=False)
        ).first()
        if started is None:
            _refuse_state(auction_id, "start")
        db.session.execute(
            sa.update(Auction)
            .where(Auction.id == auction_id)
            .values(ends_at=started.started_at + timedelta(seconds=started.duration_seconds))
            .execution_options(synchronize_session=False)
        )
        after_commit(events.announce_started, auction_id)
        after_commit(ending.arm_current, auction_id)
        return True

    transactions.atomic(work)
    return get(auction_id)


def cancel(auction_id: uuid.UUID) -> Auction:
    """SCHEDULED or RUNNING → CANCELLED (bids void), the units back to stock and the waitlist."""

    def work() -> None:
        product_id = db.session.scalar(sa.select(Auction.product_id).where(Auction.id == auction_id))
        if product_id is None:
            raise not_found()
        product = stock.lock_product(product_id)  # product first, as every path locking both
        auction = lock(auction_id)
        if auction.status not in OPEN:
            _refuse_state(auction_id, "cancel")
        auction.status, auction.ended_at, auction.settled_at = "CANCELLED", utcnow(), utcnow()
        auction.version += 1
        release_units(auction, product)
        after_commit(events.announce_ended, auction_id)

    transactions.atomic(work)
    return get(auction_id)


def _refuse_state(auction_id: uuid.UUID, wanted: str):
    status = db.session.scalar(sa.select(Auction.status).where(Auction.id == auction_id))
    if status is None:
        raise not_found()
    raise Conflict("INVALID_AUCTION_STATE", f"An auction that is {status} cannot {wanted}", {"status": status})


# --- bids ----------------------------------------------------------------------------------------


def _refusal(http_status: int, code: str, message: str, **details) -> dict:
    return {"status": http_status, "errorCode": code, "message": message, "details": details or None}


def _raise_stored(answer: dict) -> dict:
    if "errorCode" in answer:
        raise ApiError(answer["status"], answer["errorCode"], answer["message"], answer.get("details"))
    return {**answer, "serverTime": now_iso()}


def bidder_checks(user: User | None) -> None:
    """Who may bid: an active account with a complete profile (a chat ban is not a sales ban)."""
    if user is None or user.status == "SUSPENDED":
        raise Forbidden("ACCOUNT_SUSPENDED", "This account is suspended")
    if not user.profile_complete:
        raise Forbidden("PROFILE_INCOMPLETE", "Complete your name, depositor name and shipping address first")


def _earlier_answer(bid: Bid):
    """The answer already given to this bidId, as an SQL scalar subquery (NULL: none)."""
    return sa.type_coerce(
        sa.select(AuctionBid.answer)
        .where(
            AuctionBid.auction_id == bid.auction_id,
            AuctionBid.bidder_id == bid.user_id,
            AuctionBid.bid_id == bid.bid_id,
        )
        .scalar_subquery(),
        AuctionBid.answer.type,
    )


def place_bid(bid: Bid) -> dict:
    """Place a bid (REST and socket alike). Returns the answer; raises ApiError for a refusal.

    The bids of one auction that reach this process together are decided together
    (auctions/batches.py): one transaction with the auction row locked decides them all in
    arrival order (decide_bids), each bidder getting its own answer."""
    outcome = batches.batches().submit(bid.auction_id, bid, decide_bids)
    if isinstance(outcome, Exception):
        raise outcome
    return _raise_stored(outcome)


# Errors that answer every bid of a batch alike (the auction is unknown, the database is busy
# or down): deciding each bid alone would only meet them again, once per bid.
_SHARED_ERRORS = (ApiError, *DATABASE_OUTAGE)


def decide_bids(bids: list[Bid]) -> list[dict | Exception]:
    """Decide bids on one auction in one locked transaction, in order: one outcome per bid, the
    stored answer (refusals too) or the error of that bid alone (ACCOUNT_SUSPENDED, ...).

    If the transaction fails for a reason that is not the batch's (a bid no single check
    refuses but PostgreSQL does), each bid is decided alone, in its own transaction, so that
    only the bid at fault gets the error."""
    try:
        return transactions.atomic(lambda: _decide_locked(bids))
    except _SHARED_ERRORS:
        raise
    except Exception:
        if len(bids) == 1:
            raise
        db.session.rollback()
    return [_decide_alone(bid) for bid in bids]


def _decide_alone(bid: Bid) -> dict | Exception:
    try:
        return transactions.atomic(lambda: _decide_locked([bid]))[0]
    except IntegrityError as error:
        # A twin with the same bidId stored its answer first: that answer is ours too.
        db.session.rollback()
        answer = db.session.scalar(sa.select(_earlier_answer(bid)))
        return error if answer is None else answer
    except Exception as error:
        db.session.rollback()
        return error


@dataclass
class _Batch:
    """What deciding a batch writes: the bid rows, and who lost the lead."""

    rows: list[dict]
    outbid: set[uuid.UUID]


def _decide_locked(bids: list[Bid]) -> list[dict | Exception]:
    users = _bidders({bid.user_id for bid in bids})  # before the lock: it is held for less
    auction = lock(bids[0].auction_id)
    now, given = _answers_given(auction.id, bids)
    written = _Batch(rows=[], outbid=set())
    outcomes: list[dict | Exception] = []
    for bid in bids:
        key = (bid.user_id, bid.bid_id)
        try:
            bidder_checks(users.get(bid.user_id))
        except ApiError as error:
            outcomes.append(error)
            continue
        if key not in given:
            try:
                given[key] = _decide(auction, bid, now, written)
            except ApiError as error:  # not stored: e.g. BID_TOO_HIGH
                outcomes.append(error)
                continue
        outcomes.append(given[key])
    if written.rows:
        db.session.execute(sa.insert(AuctionBid), written.rows)
    accepted = any(row["accepted"] for row in written.rows)
    if accepted:
        outbid = [str(user) for user in written.outbid if user != auction.leader_id]
        after_commit(events.announce_bid, auction.id, outbid, events.outbid_json(auction))
        after_commit(ending.arm_current, auction.id)  # this process now knows the auction: watch its end
    elif written.rows and all(row["answer"].get("errorCode") == "BID_TOO_LOW" for row in written.rows):
        _commit_without_waiting_for_the_disk()
    return outcomes


def _bidders(user_ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
    return {user.id: user for user in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))}


def _answers_given(auction_id: uuid.UUID, bids: list[Bid]) -> tuple[datetime, dict[tuple[uuid.UUID, str], dict]]:
    """The clock, and the answers already stored for these bids' bidIds: one query for the batch,
    after the lock (the clock then is the moment these bids are decided)."""
    earlier = sa.and_(
        AuctionBid.auction_id == auction_id,
        AuctionBid.bidder_id.in_({bid.user_id for bid in bids}),
        AuctionBid.bid_id.in_({bid.bid_id for bid in bids}),
    )
    rows = db.session.execute(
        sa.select(clock().label("now"), AuctionBid.bidder_id, AuctionBid.bid_id, AuctionBid.answer)
        .select_from(sa.select(sa.literal(1).label("one")).subquery())
        .outerjoin(AuctionBid, earlier)
    ).all()
    wanted = {(bid.user_id, bid.bid_id) for bid in bids}
    given = {(row.bidder_id, row.bid_id): row.answer for row in rows if (row.bidder_id, row.bid_id) in wanted}
    return rows[0].now, given


def _commit_without_waiting_for_the_disk() -> None:
    """For a batch that only refused bids as too low (most answers of a bidding war): lost in a
    crash, each would be decided again on a retry — and again be too low, since the minimum of a
    running auction only rises."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))


def _decide(auction: Auction, bid: Bid, now: datetime, written: _Batch) -> dict:
    """The answer to one bid under the lock, its rows added to the batch's."""
    refusal = _refusal_for(auction, bid, now)
    if refusal is None:
        return _accept(auction, bid, now, written)
    written.rows.append(_bid_row(auction, bid.user_id, bid.bid_id, bid.amount, bid.max_amount, refusal, now))
    return refusal


def _bid_row(auction, bidder, bid_id, amount, max_amount, answer, now, seq=None, proxy=False) -> dict:
    return {
        "id": new_uuid(),
        "auction_id": auction.id,
        "bidder_id": bidder,
        "bid_id": bid_id,
        "accepted": seq is not None,
        "proxy": proxy,
        "amount": amount,
        "max_amount": max_amount,
        "seq": seq,
        "answer": answer,
        "created_at": now,
    }


def _refusal_for(auction: Auction, bid: Bid, now: datetime) -> dict | None:
    if auction.status != "RUNNING" or auction.ends_at is None or now >= auction.ends_at:
        return _refusal(409, "AUCTION_NOT_RUNNING", "This auction is not running", status=auction.status)
    if auction.leader_id == bid.user_id:
        return _refusal(409, "ALREADY_LEADING", "You are already the highest bidder")
    least = minimum_bid(auction)
    if bid.amount < least:
        return _too_low(least)
    return None


def _too_low(least: Decimal) -> dict:
    return _refusal(409, "BID_TOO_LOW", f"The least bid now is {money_str(least)}", minimumBid=money_str(least))


def _accept(auction: Auction, bid: Bid, now: datetime, written: _Batch) -> dict:
    """Accept a bid that meets the minimum, resolving the leader's and the bidder's proxy bids.

    ceiling = the most a bidder has allowed (maxAmount, else the amount). With a leader L at
    ceiling cL and a new bid of X with ceiling cB (increment i):
    - cL < X + i: L cannot answer; the bidder leads at X;
    - cB ≥ cL + i: the bidder outbids L's proxy; L's proxy stands at cL, the bidder leads at cL + i;
    - otherwise L's proxy answers: the bidder stands at P − i, L leads at P = min(cB + i, cL).
    Each step is at least one increment above the one before, so the history stays strictly
    increasing whatever the ceilings."""
    increment = auction.increment
    mine = max(bid.amount, bid.max_amount or bid.amount)
    leader, leader_ceiling = auction.leader_id, auction.leader_ceiling or auction.current_price
    steps: list[tuple[uuid.UUID, Decimal, bool]] = []  # (bidder, price, proxy)
    if leader is None or leader_ceiling < bid.amount + increment:
        steps.append((bid.user_id, bid.amount, False))
        new_leader, new_ceiling = bid.user_id, mine
    elif mine >= leader_ceiling + increment:
        steps.append((leader, leader_ceiling, True))
        steps.append((bid.user_id, leader_ceiling + increment, False))
        new_leader, new_ceiling = bid.user_id, mine
    else:
        answered = min(mine + increment, leader_ceiling)
        steps.append((bid.user_id, answered - increment, False))
        steps.append((leader, answered, True))
        new_leader, new_ceiling = leader, leader_ceiling
    if steps[-1][1] > MONEY_MAX:  # NUMERIC(10,2): cannot happen with ceilings ≤ MONEY_MAX
        raise Conflict("BID_TOO_HIGH", f"A bid can be at most {MONEY_MAX}")

    mine_row = None
    for bidder, price, proxy in steps:
        auction.last_seq += 1
        row = _bid_row(
            auction,
            bidder,
            None if proxy else bid.bid_id,
            price,
            None if proxy else bid.max_amount,
            {},
            now,
            seq=auction.last_seq,
            proxy=proxy,
        )
        written.rows.append(row)
        if not proxy:
            mine_row = row
    auction.current_price = steps[-1][1]
    auction.leader_id, auction.leader_ceiling = new_leader, new_ceiling
    auction.bid_count += len(steps)
    auction.version += 1
    auction.updated_at = utcnow()
    if auction.mode == "STANDARD" and auction.anti_snipe_seconds > 0:
        window = timedelta(seconds=auction.anti_snipe_seconds)
        if auction.ends_at - now < window:
            auction.ends_at = now + window
    answer = {
        "auctionId": str(auction.id),
        "bidId": bid.bid_id,
        "accepted": True,
        "amount": money_str(mine_row["amount"]),
        "leading": new_leader == bid.user_id,
        "currentPrice": money_str(auction.current_price),
        "bidCount": auction.bid_count,
        "endsAt": iso(auction.ends_at),
        "version": auction.version,
    }
    mine_row["answer"] = answer
    written.outbid.update(user for user in (leader, bid.user_id) if user is not None)
    return answer
