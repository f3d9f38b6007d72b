"""A stream as JSON. The publish key is added only when `private` (admin responses) — never in
a public response or a broadcast."""

from __future__ import annotations

import sqlalchemy as sa

from dorami_api.db.types import money_str
from dorami_api.extensions import db
from dorami_api.streaming.models import LiveStream
from dorami_api.users.models import User
from dorami_api.web.responses import iso


def stream_json(stream: LiveStream, private: bool = False, host_name: str | None = None) -> dict:
    if host_name is None:
        host_name = db.session.scalar(sa.select(User.name).where(User.id == stream.host_id)) or ""
    data = {
        "id": str(stream.id),
        "streamKey": stream.stream_key,
        "title": stream.title,
        "description": stream.description,
        "thumbnailUrl": stream.thumbnail_url,
        "status": stream.status,
        "isLive": stream.status == "LIVE",
        "host": {"id": str(stream.host_id), "name": host_name},
        "scheduledAt": iso(stream.scheduled_at),
        "startedAt": iso(stream.started_at),
        "endedAt": iso(stream.ended_at),
        "durationSeconds": stream.duration_seconds,
        "peakViewers": stream.peak_viewers or 0,
        "freeShippingMode": stream.free_shipping_mode,
        "freeShippingThreshold": money_str(stream.free_shipping_threshold),
        "featuredProductId": str(stream.featured_product_id) if stream.featured_product_id else None,
        "createdAt": iso(stream.created_at),
        "updatedAt": iso(stream.updated_at),
    }
    if private:
        data["publishKey"] = stream.publish_key
    return data


def streams_json(streams: list[LiveStream], private: bool = False) -> list[dict]:
    host_ids = {s.host_id for s in streams}
    names = {}
    if host_ids:
        names = dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(host_ids))).all())
    return [stream_json(s, private=private, host_name=names.get(s.host_id, "")) for s in streams]
