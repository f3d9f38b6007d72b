from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dorami_api.db.types import UTCDateTime, enum_column, new_uuid, utcnow
from dorami_api.extensions import db

ROLES = ("USER", "ADMIN")
USER_STATUSES = ("ACTIVE", "SUSPENDED")


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    # Stored lower-cased; NULL for accounts that only sign in with Kakao.
    email: Mapped[str | None] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    kakao_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[str] = mapped_column(enum_column(*ROLES, name="user_role"), default="USER")
    status: Mapped[str] = mapped_column(enum_column(*USER_STATUSES, name="user_status"), default="ACTIVE")
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    instagram_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    depositor_name: Mapped[str | None] = mapped_column(sa.String(100))
    # AES-GCM envelope {v, nonce, ct} (base64): see users/crypto.py. Never stored in clear.
    shipping_address_enc: Mapped[dict | None] = mapped_column(sa.JSON)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspension_reason: Mapped[str | None] = mapped_column(sa.String(500))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.Index("ix_users_status_created_at", "status", "created_at"),)

    @property
    def is_admin(self) -> bool:
        return self.role == "ADMIN"

    @property
    def profile_complete(self) -> bool:
        return bool(self.name and self.depositor_name and self.shipping_address_enc)
