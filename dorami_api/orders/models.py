from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dorami_api.db.types import Money, UTCDateTime, enum_column, new_uuid, utcnow
from dorami_api.extensions import db

ORDER_STATUSES = ("PENDING_PAYMENT", "PAID", "SHIPPED", "DELIVERED", "CANCELLED")


class Order(db.Model):
    __tablename__ = "orders"

    # ORD-YYYYMMDD-NNNNN, numbered by OrderDayCounter.
    id: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(enum_column(*ORDER_STATUSES, name="order_status"), default="PENDING_PAYMENT")
    subtotal: Mapped[Decimal] = mapped_column(Money)
    shipping_fee: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    # Snapshots taken when the order is placed.
    user_email: Mapped[str | None] = mapped_column(sa.String(320))
    depositor_name: Mapped[str] = mapped_column(sa.String(100))
    instagram_id: Mapped[str | None] = mapped_column(sa.String(64))
    shipping_address: Mapped[dict] = mapped_column(sa.JSON)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200))
    tracking_number: Mapped[str | None] = mapped_column(sa.String(100))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.position"
    )

    __table_args__ = (
        sa.CheckConstraint("subtotal >= 0 AND shipping_fee >= 0", name="amounts_non_negative"),
        sa.CheckConstraint("total = subtotal + shipping_fee", name="total_is_sum"),
        # The same Idempotency-Key from the same user can only ever create one order.
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_orders_user_id_idempotency_key"),
        sa.Index("ix_orders_user_id_created_at", "user_id", "created_at"),
        sa.Index("ix_orders_status_created_at", "status", "created_at"),
    )


class OrderItem(db.Model):
    __tablename__ = "order_items"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    order_id: Mapped[str] = mapped_column(sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    product_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("products.id", ondelete="SET NULL"), index=True)
    variant_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("product_variants.id", ondelete="SET NULL"))
    stream_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("live_streams.id", ondelete="SET NULL"), index=True
    )
    product_name: Mapped[str] = mapped_column(sa.String(200))
    variant_label: Mapped[str | None] = mapped_column(sa.String(200))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    quantity: Mapped[int] = mapped_column(sa.Integer)

    order: Mapped[Order] = relationship(back_populates="items")

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
    )


class OrderDayCounter(db.Model):
    """The per-day order number counter, in PostgreSQL so it survives a Redis flush."""

    __tablename__ = "order_day_counters"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(sa.Integer, default=0)

    __table_args__ = (sa.CheckConstraint("last_value >= 0", name="last_value_non_negative"),)
