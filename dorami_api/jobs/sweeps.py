"""The units of background work. Each product (or order) is one transaction of its own, and each
change is guarded by the row's own state transition (UPDATE ... WHERE status = 'ACTIVE' RETURNING,
under the product lock), so two sweepers racing — or a sweeper killed half-way and restarted — can
never expire a hold twice, tell its owner twice or promote twice: whoever comes second finds
nothing left to do."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.db import transactions
from dorami_api.db.after_commit import after_commit
from dorami_api.db.types import utcnow
from dorami_api.errors import ApiError
from dorami_api.extensions import db
from dorami_api.orders import lifecycle
from dorami_api.orders.models import Order
from dorami_api.products import stock, stock_changes
from dorami_api.realtime import broadcast
from dorami_api.streaming import service as streaming
from dorami_api.waitlist import promotion
from dorami_api.waitlist.models import WaitlistEntry
from dorami_api.web.responses import iso

log = logging.getLogger(__name__)
BATCH = 200


@dataclass
class SweepReport:
    expired_holds: list[uuid.UUID] = field(default_factory=list)
    promotions: int = 0
    closed_promotions: int = 0
    cancelled_orders: list[str] = field(default_factory=list)
    ended_streams: list[str] = field(default_factory=list)
    settled_auctions: list[uuid.UUID] = field(default_factory=list)

    def merge(self, other: SweepReport) -> None:
        self.expired_holds += other.expired_holds
        self.promotions += other.promotions
        self.closed_promotions += other.closed_promotions
        self.cancelled_orders += other.cancelled_orders
        self.ended_streams += other.ended_streams
        self.settled_auctions += other.settled_auctions

    @property
    def empty(self) -> bool:
        return not (
            self.expired_holds
            or self.promotions
            or self.closed_promotions
            or self.cancelled_orders
            or self.ended_streams
            or self.settled_auctions
        )


def _each_product(candidates, stop: threading.Event | None, unit) -> SweepReport:
    """Run unit(product_id) — one locked transaction each — for a batch of the products the
    `candidates` query names, stopping early when asked."""
    product_ids = db.session.scalars(candidates.limit(BATCH)).all()
    _end_read()
    report = SweepReport()
    for product_id in product_ids:
        if _stopping(stop):
            break
        report.merge(unit(product_id))
    return report


def _end_read() -> None:
    """Close the read-only transaction a candidate query opened (never hold it across work)."""
    db.session.rollback()


# --- expired holds ---------------------------------------------------------------------------


def _stopping(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


def expire_holds(now: datetime | None = None, stop: threading.Event | None = None) -> SweepReport:
    """ACTIVE holds past their expiry → EXPIRED, product settled (AVAILABLE again, broadcast),
    `cart:expired` to each owner, the freed units offered to the waitlist."""
    now = now or utcnow()
    candidates = (
        sa.select(CartHold.product_id)
        .where(CartHold.status == "ACTIVE", CartHold.expires_at <= now)
        .group_by(CartHold.product_id)
    )
    return _each_product(candidates, stop, lambda product_id: _expire_product_holds(product_id, now))


def _expire_product_holds(product_id: uuid.UUID, now: datetime) -> SweepReport:
    def work() -> SweepReport:
        report = SweepReport()
        product = stock.lock_products([product_id], missing_ok=True).get(product_id)
        if product is None:
            return report
        expired = db.session.execute(
            sa.update(CartHold)
            .where(CartHold.product_id == product_id, CartHold.status == "ACTIVE", CartHold.expires_at <= now)
            .values(status="EXPIRED", updated_at=utcnow())
            .returning(CartHold.id, CartHold.user_id, CartHold.quantity, CartHold.source, CartHold.expires_at)
            .execution_options(synchronize_session=False)
        ).all()
        if not expired:
            return report
        promotion.end_promotion([row.id for row in expired if row.source == "WAITLIST"], "EXPIRED")
        report.promotions = stock_changes.units_released(product).promoted
        for row in expired:
            data = {
                "cartItemId": str(row.id),
                "productId": str(product_id),
                "productName": product.name,
                "quantity": row.quantity,
                "expiredAt": iso(row.expires_at),
            }
            after_commit(broadcast.cart_expired, str(row.user_id), data)
        report.expired_holds = [row.id for row in expired]
        return report

    return transactions.atomic(work)


# --- promotions whose hold ended some other way --------------------------------------------------

_CLOSED_BY_HOLD = {"ORDERED": "COMPLETED", "RELEASED": "CANCELLED", "EXPIRED": "EXPIRED"}


def close_stale_promotions(now: datetime | None = None, stop: threading.Event | None = None) -> SweepReport:
    """PROMOTED entries whose hold is gone or no longer ACTIVE are closed and the queue moves on
    (the paths that end a hold do this themselves; this is the safety net)."""
    now = now or utcnow()
    candidates = (
        sa.select(WaitlistEntry.product_id)
        .outerjoin(CartHold, CartHold.id == WaitlistEntry.hold_id)
        .where(
            WaitlistEntry.status == "PROMOTED",
            sa.or_(CartHold.id.is_(None), CartHold.status != "ACTIVE"),
        )
        .group_by(WaitlistEntry.product_id)
    )
    return _each_product(candidates, stop, _close_product_promotions)


def _close_product_promotions(product_id: uuid.UUID) -> SweepReport:
    def work() -> SweepReport:
        report = SweepReport()
        product = stock.lock_products([product_id], missing_ok=True).get(product_id)
        if product is None:
            return report
        stale = db.session.execute(
            sa.select(WaitlistEntry.id, CartHold.status)
            .outerjoin(CartHold, CartHold.id == WaitlistEntry.hold_id)
            .where(
                WaitlistEntry.product_id == product_id,
                WaitlistEntry.status == "PROMOTED",
                sa.or_(CartHold.id.is_(None), CartHold.status != "ACTIVE"),
            )
        ).all()
        for entry_id, hold_status in stale:
            closed = db.session.execute(
                sa.update(WaitlistEntry)
                .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == "PROMOTED")
                .values(status=_CLOSED_BY_HOLD.get(hold_status, "EXPIRED"), updated_at=utcnow())
                .returning(WaitlistEntry.id)
                .execution_options(synchronize_session=False)
            ).first()
            report.closed_promotions += closed is not None
        if report.closed_promotions:
            report.promotions = stock_changes.units_released(product).promoted
        return report

    return transactions.atomic(work)


# --- unpaid orders ---------------------------------------------------------------------------


def cancel_unpaid_orders(
    timeout_minutes: int, now: datetime | None = None, stop: threading.Event | None = None
) -> SweepReport:
    """PENDING_PAYMENT orders older than the timeout are cancelled (stock back, waitlist served).
    0 = never (the default: bank transfers take time)."""
    report = SweepReport()
    if timeout_minutes <= 0:
        return report
    cutoff = (now or utcnow()) - timedelta(minutes=timeout_minutes)
    order_ids = db.session.scalars(
        sa.select(Order.id)
        .where(Order.status == "PENDING_PAYMENT", Order.created_at <= cutoff)
        .order_by(Order.created_at)
        .limit(BATCH)
    ).all()
    _end_read()
    reason = f"Payment not received within {timeout_minutes} minutes"
    for order_id in order_ids:
        if _stopping(stop):
            break
        try:
            lifecycle.cancel(order_id, sources=("PENDING_PAYMENT",), reason=reason)
        except ApiError:
            db.session.rollback()  # paid or cancelled meanwhile: nothing to do
            continue
        report.cancelled_orders.append(order_id)
    _end_read()
    return report


def end_stale_streams(max_live_hours: int) -> SweepReport:
    """Streams LIVE for longer than `max_live_hours` (an encoder that vanished without
    unpublishing) are ended like any other end: endedAt, duration, peakViewers, stream:ended.
    0 = never."""
    report = SweepReport()
    if max_live_hours > 0:
        report.ended_streams = streaming.end_expired_streams(timedelta(hours=max_live_hours))
    return report
