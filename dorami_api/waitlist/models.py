from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dorami_api.db.types import UTCDateTime, enum_column, new_uuid, utcnow
from dorami_api.extensions import db

WAITLIST_STATUSES = ("WAITING", "PROMOTED", "COMPLETED", "CANCELLED", "EXPIRED")


class WaitlistEntry(db.Model):
    """A place in a sold-out product's queue; position is the order of `created_at`, `id`."""

    __tablename__ = "waitlist_entries"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    variant_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("product_variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(enum_column(*WAITLIST_STATUSES, name="waitlist_status"), default="WAITING")
    # The hold given on promotion; unused by its expiry, the promotion passes on.
    hold_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("cart_holds.id", ondelete="SET NULL"))
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.Index("ix_waitlist_entries_product_id_status_created_at", "product_id", "status", "created_at"),
        sa.Index("ix_waitlist_entries_user_id_status", "user_id", "status"),
    )
