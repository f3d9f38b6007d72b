from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dorami_api.db.types import Money, UTCDateTime, utcnow
from dorami_api.extensions import db

SYSTEM_CONFIG_ID = "system"


class SystemConfig(db.Model):
    """The single row of shop-wide settings (id = 'system')."""

    __tablename__ = "system_config"

    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True, default=SYSTEM_CONFIG_ID)
    default_shipping_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("10.00"))
    bank_name: Mapped[str] = mapped_column(sa.String(100), default="")
    bank_account_number: Mapped[str] = mapped_column(sa.String(100), default="")
    bank_account_holder: Mapped[str] = mapped_column(sa.String(100), default="")
    notice_text: Mapped[str | None] = mapped_column(sa.Text)
    notice_font_size: Mapped[int] = mapped_column(sa.Integer, default=14)
    notice_font_family: Mapped[str] = mapped_column(sa.String(64), default="Pretendard")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("id = 'system'", name="singleton"),
        sa.CheckConstraint("default_shipping_fee >= 0", name="shipping_fee_non_negative"),
        sa.CheckConstraint("notice_font_size BETWEEN 10 AND 24", name="notice_font_size_range"),
    )
