from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dorami_api.db.types import UTCDateTime, enum_column, new_uuid, utcnow
from dorami_api.extensions import db

MODERATION_ACTIONS = ("MUTE", "BAN", "DELETE_MESSAGE")


class ChatModeration(db.Model):
    """An admin's moderation in one chat room: a timed mute or ban, or a deleted message."""

    __tablename__ = "chat_moderations"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_uuid)
    stream_key: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(enum_column(*MODERATION_ACTIONS, name="moderation_action"))
    target_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    message_id: Mapped[str | None] = mapped_column(sa.String(64))
    moderator_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_chat_moderations_stream_key_target_user_id", "stream_key", "target_user_id"),)
