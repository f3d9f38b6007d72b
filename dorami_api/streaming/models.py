from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dorami_api.db.types import Money, UTCDateTime, enum_column, new_uuid, utcnow
from dorami_api.extensions import db

STREAM_STATUSES = ("SCHEDULED", "LIVE", "ENDED")
FREE_SHIPPING_MODES = ("DISABLED", "UNCONDITIONAL", "THRESHOLD")


class LiveStream(db.Model):
    __tablename__ = "live_streams"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    # Public identifier: URLs, rooms, chat liveId.
    stream_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # Secret RTMP ingest key (32 hex chars): shown to admins only, checked by media hooks.
    publish_key: Mapped[str] = mapped_column(sa.String(32), unique=True)
    host_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    thumbnail_url: Mapped[str | None] = mapped_column(sa.String(2048))
    status: Mapped[str] = mapped_column(
        enum_column(*STREAM_STATUSES, name="stream_status"), default="SCHEDULED", index=True
    )
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(sa.Integer)
    peak_viewers: Mapped[int] = mapped_column(sa.Integer, default=0)
    free_shipping_mode: Mapped[str] = mapped_column(
        enum_column(*FREE_SHIPPING_MODES, name="free_shipping_mode"), default="DISABLED"
    )
    free_shipping_threshold: Mapped[Decimal | None] = mapped_column(Money)
    featured_product_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("products.id", ondelete="SET NULL", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("peak_viewers >= 0", name="peak_viewers_non_negative"),
        sa.CheckConstraint(
            "free_shipping_threshold IS NULL OR free_shipping_threshold >= 0",
            name="free_shipping_threshold_non_negative",
        ),
    )


def stream_keys(stream_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """The stream key of each of these streams, in one query (products and orders name their
    stream by id; rooms and clients by key)."""
    ids = {stream_id for stream_id in stream_ids if stream_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(LiveStream.id, LiveStream.stream_key).where(LiveStream.id.in_(ids))).all())
