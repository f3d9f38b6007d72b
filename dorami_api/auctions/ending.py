"""Ending auctions: exactly once, within a second of `endsAt`, whichever process gets there first,
also when the process that started the auction has died.

Two transactions, each guarded by the auction row's own state:
1. `end`: one conditional UPDATE (status RUNNING and `ends_at` past on the database's clock →
   ENDED, with the leader as winner at the current price) is the single authority: of any number
   of drivers racing, on any host, exactly one gets the row back; it broadcasts `auction:ended`
   after commit. A bid holding the row lock is waited for, and an end it moved is re-checked.
2. `settle`: product locked first, then the auction (the order every path locking both uses).
   With a winner, the order is made from the held units (PENDING_PAYMENT, the final price, the
   usual shipping rules) and `auction:won` is sent; without one, the units go back through
   `stock_changes.units_released`. `settled_at` marks it done, so it happens once; the order is
   also unique per auction, and its Idempotency-Key is the auction's.
A process that dies between the two leaves an ENDED auction unsettled: `settle_pending` (the
jobs worker, every tick) re-drives it.

Drivers: the jobs worker polls for due auctions every POLL_SECONDS (jobs/runner.py), an indexed
query; a web worker that started an auction or took a bid on it also watches its end with a
timer (a greenlet), so the end does not wait for the jobs process.
"""

from __future__ import annotations

import logging
import threading
import uuid

import sqlalchemy as sa
from flask import Flask, current_app

from dorami_api.auctions import events
from dorami_api.auctions.models import Auction
from dorami_api.concurrency import gevent_patched
from dorami_api.db import transactions
from dorami_api.db.after_commit import after_commit
from dorami_api.db.types import UTCDateTime, utcnow
from dorami_api.errors import ApiError, NotFound
from dorami_api.extensions import db
from dorami_api.orders import service as orders
from dorami_api.products import stock, stock_changes
from dorami_api.realtime.timers import sleep, spawn

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
BATCH = 100
# A watching timer wakes at least this often to re-read the end (an extension moves it).
_WATCH_MAX_SLEEP = 5.0
_WATCH_EPSILON = 0.005
_TIMERS = "dorami_auction_timers"


def init_app(app: Flask) -> None:
    app.extensions[_TIMERS] = set()


# --- rows and the clock ------------------------------------------------------------------------


def clock():
    """The database's clock as an SQL expression (the embedded SQLite: this process's)."""
    if db.engine.dialect.name == "postgresql":
        return sa.type_coerce(sa.func.clock_timestamp(), UTCDateTime)
    return sa.bindparam("now", utcnow(), type_=UTCDateTime)


def not_found() -> NotFound:
    return NotFound("AUCTION_NOT_FOUND", "Auction not found")


def lock(auction_id: uuid.UUID) -> Auction:
    auction = db.session.scalar(
        sa.select(Auction).where(Auction.id == auction_id).with_for_update().execution_options(populate_existing=True)
    )
    if auction is None:
        raise not_found()
    return auction


def release_units(auction: Auction, product) -> None:
    """The auction's units back to the product (locked), through the one path of released units."""
    variant = next((v for v in product.variants if v.id == auction.variant_id), None)
    stock.return_stock(product, variant, auction.quantity)
    stock_changes.units_released(product)


# --- the two transactions ----------------------------------------------------------------------


def end(auction_id: uuid.UUID) -> bool:
    """RUNNING and past its end → ENDED. True only for the one caller that ended it."""

    def work() -> bool:
        now = clock()
        ended = db.session.execute(
            sa.update(Auction)
            .where(Auction.id == auction_id, Auction.status == "RUNNING", Auction.ends_at <= now)
            .values(
                status="ENDED",
                ended_at=now,
                winner_id=Auction.leader_id,
                final_price=Auction.current_price,
                version=Auction.version + 1,
                updated_at=utcnow(),
            )
            .returning(Auction.id)
            .execution_options(synchronize_session=False)
        ).first()
        if ended is not None:
            after_commit(events.announce_ended, auction_id)
        return ended is not None

    return transactions.atomic(work)


def settle(auction_id: uuid.UUID) -> str | None:
    """The ended auction's units: the winner's order (its id), or back to stock. Once."""

    def work() -> str | None:
        product_id = db.session.scalar(
            sa.select(Auction.product_id).where(
                Auction.id == auction_id, Auction.status == "ENDED", Auction.settled_at.is_(None)
            )
        )
        if product_id is None:
            return None
        product = stock.lock_products([product_id], missing_ok=True).get(product_id)
        auction = lock(auction_id)
        if auction.status != "ENDED" or auction.settled_at is not None or product is None:
            return None
        if auction.winner_id is None:
            release_units(auction, product)
        else:
            variant = next((v for v in product.variants if v.id == auction.variant_id), None)
            order_id = orders.place_held_order(
                auction.winner_id, product, variant, auction.quantity, auction.final_price, f"auction:{auction.id}"
            )
            db.session.flush()  # the order row before the auction names it
            auction.order_id = order_id
            after_commit(events.announce_won, auction_id)
        auction.settled_at = utcnow()
        return auction.order_id

    return transactions.atomic(work)


def end_and_settle(auction_id: uuid.UUID) -> bool:
    if not end(auction_id):
        return False
    try:
        settle(auction_id)
    except ApiError as error:  # e.g. the winner's profile is no longer complete: the sweep retries
        db.session.rollback()
        log.warning("auction %s ended, its order not made yet: %s", auction_id, error.code)
    return True


# --- drivers -----------------------------------------------------------------------------------


def _stopping(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


def end_due(stop: threading.Event | None = None) -> list[uuid.UUID]:
    """End (and settle) every RUNNING auction past its end. Cheap when none is: one indexed query."""
    due = db.session.scalars(
        sa.select(Auction.id)
        .where(Auction.status == "RUNNING", Auction.ends_at <= clock())
        .order_by(Auction.ends_at)
        .limit(BATCH)
    ).all()
    db.session.rollback()
    ended = []
    for auction_id in due:
        if _stopping(stop):
            break
        if end_and_settle(auction_id):
            ended.append(auction_id)
    return ended


def settle_pending(stop: threading.Event | None = None) -> list[uuid.UUID]:
    """ENDED auctions whose settlement never committed (a process died between the two)."""
    pending = db.session.scalars(
        sa.select(Auction.id).where(Auction.status == "ENDED", Auction.settled_at.is_(None)).limit(BATCH)
    ).all()
    db.session.rollback()
    settled = []
    for auction_id in pending:
        if _stopping(stop):
            break
        try:
            settle(auction_id)
            settled.append(auction_id)
        except ApiError as error:
            db.session.rollback()
            log.warning("auction %s: order not made: %s", auction_id, error.code)
    return settled


def arm_current(auction_id: uuid.UUID) -> None:
    arm(current_app._get_current_object(), auction_id)


def arm(app: Flask, auction_id: uuid.UUID) -> None:
    """Watch this auction's end from this process (gevent workers only; the jobs worker polls)."""
    if not gevent_patched():
        return
    watched = app.extensions[_TIMERS]
    if auction_id in watched:
        return
    watched.add(auction_id)
    spawn(_watch, app, auction_id)


def _watch(app: Flask, auction_id: uuid.UUID) -> None:
    try:
        while True:
            with app.app_context():
                try:
                    row = db.session.execute(
                        sa.select(Auction.status, Auction.ends_at, clock().label("now")).where(Auction.id == auction_id)
                    ).first()
                    db.session.rollback()
                    if row is None or row.status != "RUNNING":
                        return
                    wait = (row.ends_at - row.now).total_seconds()
                    if wait <= 0:
                        end_and_settle(auction_id)
                        continue
                except Exception:
                    log.exception("auction %s: watching its end failed; the jobs worker ends it", auction_id)
                    return
                finally:
                    db.session.remove()
            sleep(min(wait, _WATCH_MAX_SLEEP) + _WATCH_EPSILON)
    finally:
        app.extensions[_TIMERS].discard(auction_id)
