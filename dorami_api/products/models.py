from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dorami_api.db.types import Money, UTCDateTime, enum_column, new_uuid, utcnow
from dorami_api.extensions import db

PRODUCT_STATUSES = ("AVAILABLE", "SOLD_OUT", "HIDDEN")


class Product(db.Model):
    """A product on sale. `stock` is units on hand; what can still be bought is
    stock minus the live cart holds (see cart/models.py)."""

    __tablename__ = "products"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    # NULL: a store product, not tied to a broadcast.
    stream_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("live_streams.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    price: Mapped[Decimal] = mapped_column(Money)
    original_price: Mapped[Decimal | None] = mapped_column(Money)
    image_url: Mapped[str | None] = mapped_column(sa.String(2048))
    images: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(enum_column(*PRODUCT_STATUSES, name="product_status"), default="AVAILABLE")
    stock: Mapped[int] = mapped_column(sa.Integer, default=0)
    hold_minutes: Mapped[int] = mapped_column(sa.Integer, default=10)
    # The most units one user may hold and buy in all (live holds + orders not cancelled); NULL: no cap.
    max_per_buyer: Mapped[int | None] = mapped_column(sa.Integer)
    sort_order: Mapped[int] = mapped_column(sa.Integer, default=0)
    # Increases with every change so that clients can drop stale broadcasts.
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    variants: Mapped[list[ProductVariant]] = relationship(
        back_populates="product", order_by="ProductVariant.sort_order", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("stock >= 0", name="stock_non_negative"),
        sa.CheckConstraint("price >= 0", name="price_non_negative"),
        sa.CheckConstraint("original_price IS NULL OR original_price >= 0", name="original_price_non_negative"),
        sa.CheckConstraint("hold_minutes >= 0", name="hold_minutes_non_negative"),
        sa.CheckConstraint("max_per_buyer IS NULL OR max_per_buyer > 0", name="max_per_buyer_positive"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_products_stream_id_status", "stream_id", "status"),
        sa.Index("ix_products_status_created_at", "status", "created_at"),
    )


class ProductVariant(db.Model):
    __tablename__ = "product_variants"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    color: Mapped[str | None] = mapped_column(sa.String(50))
    size: Mapped[str | None] = mapped_column(sa.String(50))
    label: Mapped[str | None] = mapped_column(sa.String(100))
    price: Mapped[Decimal] = mapped_column(Money)
    stock: Mapped[int] = mapped_column(sa.Integer, default=0)
    sort_order: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(back_populates="variants")

    __table_args__ = (
        sa.CheckConstraint("stock >= 0", name="stock_non_negative"),
        sa.CheckConstraint("price >= 0", name="price_non_negative"),
        sa.UniqueConstraint("product_id", "color", "size", "label", name="uq_product_variants_options"),
    )
