from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dorami_api.db.types import Money, UTCDateTime, enum_column, new_uuid, utcnow
from dorami_api.extensions import db

AUCTION_STATUSES = ("SCHEDULED", "RUNNING", "ENDED", "CANCELLED")
AUCTION_MODES = ("STANDARD", "SUDDEN_DEATH")


class Auction(db.Model):
    """One auction. Its units were taken out of the product's stock when it was created; they
    return to stock when it is cancelled or ends without a bid, or become the winner's order.

    The row is the lock every bid takes (SELECT ... FOR UPDATE), so bids on one auction are
    serialised in PostgreSQL across every process; `version` increases with every change."""

    __tablename__ = "auctions"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("product_variants.id", ondelete="SET NULL"))
    stream_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("live_streams.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(sa.Integer, default=1)
    starting_price: Mapped[Decimal] = mapped_column(Money)
    increment: Mapped[Decimal] = mapped_column(Money)
    duration_seconds: Mapped[int] = mapped_column(sa.Integer)
    anti_snipe_seconds: Mapped[int] = mapped_column(sa.Integer, default=10)
    mode: Mapped[str] = mapped_column(enum_column(*AUCTION_MODES, name="auction_mode"), default="STANDARD")
    status: Mapped[str] = mapped_column(enum_column(*AUCTION_STATUSES, name="auction_status"), default="SCHEDULED")
    # The price the leader stands at, the leader, and the most the leader's proxy bid may reach.
    current_price: Mapped[Decimal | None] = mapped_column(Money)
    leader_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    leader_ceiling: Mapped[Decimal | None] = mapped_column(Money)
    bid_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    # The sequence number of the last accepted bid row (auction_bids.seq).
    last_seq: Mapped[int] = mapped_column(sa.Integer, default=0)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    winner_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    final_price: Mapped[Decimal | None] = mapped_column(Money)
    # The winner's order: at most one per auction (unique), written by settle() after the end.
    # settled_at: when the units found their place (the order, or back to stock); NULL while open
    # and in the moment between the end and the settlement (a sweep re-drives it).
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_id: Mapped[str | None] = mapped_column(sa.ForeignKey("orders.id", ondelete="SET NULL"), unique=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("starting_price >= 0", name="starting_price_non_negative"),
        sa.CheckConstraint("increment > 0", name="increment_positive"),
        sa.CheckConstraint("duration_seconds > 0", name="duration_positive"),
        sa.CheckConstraint("anti_snipe_seconds >= 0", name="anti_snipe_non_negative"),
        # The ending drivers ask for RUNNING auctions past their end several times a second.
        sa.Index("ix_auctions_status_ends_at", "status", "ends_at"),
    )


class AuctionBid(db.Model):
    """Every answer given to a bid (accepted or refused under the auction lock), so that the same
    bidId always gets the same answer, and the proxy bids the server made for a leader (no
    bidId). Accepted rows, in `seq` order, are the price history: strictly increasing amounts."""

    __tablename__ = "auction_bids"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    auction_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("auctions.id", ondelete="CASCADE"))
    bidder_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    bid_id: Mapped[str | None] = mapped_column(sa.String(64))
    accepted: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    proxy: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # Accepted: the price this bid stood at; refused: the amount asked.
    amount: Mapped[Decimal] = mapped_column(Money)
    max_amount: Mapped[Decimal | None] = mapped_column(Money)
    seq: Mapped[int | None] = mapped_column(sa.Integer)
    # The answer given, returned as is to a retry with the same bidId.
    answer: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("auction_id", "bidder_id", "bid_id", name="uq_auction_bids_auction_bidder_bid"),
        sa.UniqueConstraint("auction_id", "seq", name="uq_auction_bids_auction_seq"),
    )
