from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dorami_api.db.types import UTCDateTime, enum_column, new_uuid, utcnow
from dorami_api.extensions import db

HOLD_STATUSES = ("ACTIVE", "EXPIRED", "ORDERED", "RELEASED")
HOLD_SOURCES = ("CART", "WAITLIST")


class CartHold(db.Model):
    """A cart line that holds stock. It counts against available stock while ACTIVE and
    not past `expires_at` (NULL: no timer) — expiry frees stock without any job running."""

    __tablename__ = "cart_holds"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    variant_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("product_variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(enum_column(*HOLD_STATUSES, name="hold_status"), default="ACTIVE")
    source: Mapped[str] = mapped_column(enum_column(*HOLD_SOURCES, name="hold_source"), default="CART")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.Index("ix_cart_holds_user_id_status", "user_id", "status"),
        sa.Index("ix_cart_holds_product_id_status_expires_at", "product_id", "status", "expires_at"),
        sa.Index("ix_cart_holds_status_expires_at", "status", "expires_at"),
    )
