from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dorami_api.db.types import UTCDateTime, new_uuid, utcnow
from dorami_api.extensions import db


class AuthSession(db.Model):
    """One login. Its id is the JWT `sid`; every authenticated request checks it is live."""

    __tablename__ = "auth_sessions"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The refresh token currently valid for this session, stored only as a SHA-256 hash.
    refresh_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The token it replaced, accepted again only within the grace window (two tabs refreshing).
    previous_refresh_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(sa.String(400))
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(64))
