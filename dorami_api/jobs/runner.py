"""The job loop: every ~1 s, one tick of every sweep; and, beside it, the auction-end loop.

Exactly once across any number of worker processes and hosts: a tick runs only in the process
that holds a PostgreSQL advisory lock (pg_try_advisory_lock on a connection of its own; the others
skip the tick). The lock belongs to the database session, so a worker that crashes or is killed
releases it with its connection — no stale lock to wait out, nothing to clean up. Under the lock
every unit of work still commits on its own and is guarded by its row's state transition
(sweeps.py), so even two ticks that overlapped (e.g. the embedded SQLite mode, which has no
advisory locks) could not do anything twice; and a restart at any moment just resumes.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask

from dorami_api.auctions import ending as auction_ending
from dorami_api.extensions import db
from dorami_api.jobs import sweeps

log = logging.getLogger(__name__)

# pg advisory lock key: "dorami-jobs" as a stable 63-bit number.
LEADER_LOCK_KEY = 0x646F72616D69_4A
TICK_SECONDS = 1.0


@contextmanager
def leader_lock() -> Iterator[bool]:
    """Yield True in the one process allowed to run this tick."""
    if db.engine.dialect.name != "postgresql":
        yield True  # embedded single-process mode
        return
    with db.engine.connect() as connection:
        acquired = bool(connection.execute(sa.select(sa.func.pg_try_advisory_lock(LEADER_LOCK_KEY))).scalar())
        connection.commit()
        try:
            yield acquired
        finally:
            if acquired:
                connection.execute(sa.select(sa.func.pg_advisory_unlock(LEADER_LOCK_KEY)))
                connection.commit()


def run_once(app: Flask, stop: threading.Event | None = None) -> sweeps.SweepReport | None:
    """One tick: None when another process holds the lock. A set `stop` ends the tick after the
    current unit of work (each unit commits on its own, so nothing is left half done)."""
    with app.app_context():
        try:
            with leader_lock() as leader:
                if not leader:
                    return None
                report = sweeps.SweepReport()
                timeout = app.config["DORAMI"].order_payment_timeout_minutes
                report.merge(sweeps.expire_holds(stop=stop))
                report.merge(sweeps.close_stale_promotions(stop=stop))
                report.merge(sweeps.cancel_unpaid_orders(timeout, stop=stop))
                report.merge(sweeps.end_stale_streams(app.config["DORAMI"].stream_max_live_hours))
                report.settled_auctions = auction_ending.settle_pending(stop=stop)
                return report
        finally:
            db.session.remove()


def run_forever(app: Flask, stop: threading.Event, tick: float = TICK_SECONDS) -> None:
    """Tick until `stop` is set; a failed tick is logged and the next one tries again."""
    while not stop.is_set():
        try:
            report = run_once(app, stop)
            if report is not None and not report.empty:
                log.info(
                    "jobs: %d holds expired, %d promotions, %d stale promotions closed, %d unpaid orders cancelled,"
                    " %d stale streams ended",
                    len(report.expired_holds),
                    report.promotions,
                    report.closed_promotions,
                    len(report.cancelled_orders),
                    len(report.ended_streams),
                )
        except Exception:
            log.exception("jobs: tick failed; retrying")
        stop.wait(tick)


def end_auctions_once(app: Flask, stop: threading.Event | None = None) -> list:
    """End (and settle) the auctions past their end. Not under the leader lock: the end of each is
    one conditional UPDATE that only one caller can win (auctions/ending.py), so several job
    processes polling at once still end each auction once, and a process killed mid-way is simply
    replaced by the next poll of any other."""
    with app.app_context():
        try:
            return auction_ending.end_due(stop=stop)
        finally:
            db.session.remove()


def run_auction_ends_forever(app: Flask, stop: threading.Event, tick: float = auction_ending.POLL_SECONDS) -> None:
    """Poll for due auctions every `tick` seconds (an indexed query) until `stop` is set."""
    while not stop.is_set():
        try:
            ended = end_auctions_once(app, stop)
            if ended:
                log.info("jobs: %d auctions ended", len(ended))
        except Exception:
            log.exception("jobs: auction poll failed; retrying")
        stop.wait(tick)


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM / SIGINT finish the current unit of work, then exit cleanly."""

    def handle(signum, _frame):
        log.info("jobs: signal %s, stopping after this unit of work", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
