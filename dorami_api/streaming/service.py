"""Live-stream rules: SCHEDULED → LIVE → ENDED, the public/secret key split, the
featured product, and one way to end a stream whoever ends it (admin, media hook, expiry job).

Lifecycle changes lock the stream row, so an admin's end and the media server's unpublish
arriving together end the stream once and announce it once.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from dorami_api.db.after_commit import after_commit
from dorami_api.db.types import utcnow
from dorami_api.errors import ApiError, Conflict, NotFound
from dorami_api.extensions import db
from dorami_api.products import events as product_events
from dorami_api.products.models import Product
from dorami_api.products.serializers import product_json
from dorami_api.realtime import broadcast
from dorami_api.streaming.models import LiveStream
from dorami_api.streaming.schemas import StreamCreate, StreamListQuery, StreamUpdate
from dorami_api.streaming.serializers import stream_json, streams_json
from dorami_api.streaming.viewers import viewer_count
from dorami_api.web.responses import iso


def new_stream_key() -> str:
    return secrets.token_urlsafe(12)  # 16 URL-safe characters: public, but not guessable


def new_publish_key() -> str:
    return secrets.token_hex(16)  # 32 hex characters from the OS's cryptographic source


def _find(stream_id: uuid.UUID, lock: bool = False) -> LiveStream:
    statement = sa.select(LiveStream).where(LiveStream.id == stream_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    stream = db.session.scalar(statement)
    if stream is None:
        raise NotFound("STREAM_NOT_FOUND", "Live stream not found")
    return stream


def _state_conflict(stream: LiveStream, action: str) -> Conflict:
    return Conflict(
        "INVALID_STREAM_STATE",
        f"A {stream.status} stream cannot be {action}",
        {"streamId": str(stream.id), "status": stream.status},
    )


def _check_free_shipping(stream: LiveStream) -> None:
    if stream.free_shipping_mode == "THRESHOLD" and stream.free_shipping_threshold is None:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            "freeShippingThreshold is required when freeShippingMode is THRESHOLD",
            {"fields": [{"field": "freeShippingThreshold", "message": "required", "type": "missing"}]},
        )


# --- admin -----------------------------------------------------------------------------------


def create_stream(host_id: str, body: StreamCreate) -> dict:
    stream = LiveStream(
        stream_key=new_stream_key(),
        publish_key=new_publish_key(),
        host_id=uuid.UUID(host_id),
        title=body.title,
        description=body.description,
        thumbnail_url=body.thumbnailUrl,
        scheduled_at=body.scheduledAt,
        status="SCHEDULED",
        peak_viewers=0,
        free_shipping_mode=body.freeShippingMode,
        free_shipping_threshold=body.freeShippingThreshold,
    )
    db.session.add(stream)
    db.session.commit()
    return stream_json(stream, private=True)


_COLUMNS = {
    "title": "title",
    "description": "description",
    "thumbnailUrl": "thumbnail_url",
    "scheduledAt": "scheduled_at",
    "freeShippingMode": "free_shipping_mode",
    "freeShippingThreshold": "free_shipping_threshold",
}


def update_stream(stream_id: uuid.UUID, body: StreamUpdate) -> dict:
    stream = _find(stream_id, lock=True)
    if stream.status == "ENDED":
        raise _state_conflict(stream, "edited")
    for field, column in _COLUMNS.items():
        if field in body.model_fields_set:
            setattr(stream, column, getattr(body, field))
    _check_free_shipping(stream)
    db.session.commit()
    return stream_json(stream, private=True)


def rotate_publish_key(stream_id: uuid.UUID) -> dict:
    stream = _find(stream_id, lock=True)
    if stream.status == "ENDED":
        raise _state_conflict(stream, "given a new publish key")
    stream.publish_key = new_publish_key()
    db.session.commit()
    return stream_json(stream, private=True)


def _go_live(stream: LiveStream) -> None:
    stream.status = "LIVE"
    stream.started_at = utcnow()


def start_stream(stream_id: uuid.UUID) -> dict:
    stream = _find(stream_id, lock=True)
    if stream.status != "SCHEDULED":
        raise _state_conflict(stream, "started")
    _go_live(stream)
    db.session.commit()
    return stream_json(stream, private=True)


def _finish(stream: LiveStream) -> None:
    """Record the end (the stream row is locked) and announce it after commit."""
    now = utcnow()
    stream.status = "ENDED"
    stream.ended_at = now
    started = stream.started_at or now
    stream.duration_seconds = max(int((now - started).total_seconds()), 0)
    stream.peak_viewers = max(stream.peak_viewers or 0, viewer_count(stream.stream_key))
    data = {
        "streamId": str(stream.id),
        "endedAt": iso(stream.ended_at),
        "durationSeconds": stream.duration_seconds,
        "peakViewers": stream.peak_viewers,
    }
    after_commit(broadcast.stream_ended, stream.stream_key, data)


def end_stream(stream_id: uuid.UUID) -> dict:
    """Admin: end a live stream."""
    stream = _find(stream_id, lock=True)
    if stream.status != "LIVE":
        raise _state_conflict(stream, "ended")
    _finish(stream)
    db.session.commit()
    return stream_json(stream, private=True)


def end_live_stream(stream_id: uuid.UUID) -> bool:
    """For jobs (expiry, reconciliation): end the stream if it is still LIVE, with the same
    records and broadcast as every other end. Returns whether it ended it."""
    stream = _find(stream_id, lock=True)
    if stream.status != "LIVE":
        db.session.rollback()
        return False
    _finish(stream)
    db.session.commit()
    return True


def end_expired_streams(max_live: timedelta, now: datetime | None = None) -> list[str]:
    """For the jobs worker: end every stream LIVE for longer than `max_live` (an encoder that
    vanished without unpublishing), each in its own transaction. Returns the ended stream keys."""
    cutoff = (now or utcnow()) - max_live
    candidates = db.session.execute(
        sa.select(LiveStream.id, LiveStream.stream_key).where(
            LiveStream.status == "LIVE", LiveStream.started_at < cutoff
        )
    ).all()
    db.session.rollback()  # never hold the read transaction across the work
    return [stream_key for stream_id, stream_key in candidates if end_live_stream(stream_id)]


def delete_stream(stream_id: uuid.UUID) -> None:
    """Only a stream that never went live; its products go with it."""
    stream = _find(stream_id, lock=True)
    if stream.status != "SCHEDULED":
        raise _state_conflict(stream, "deleted")
    for product in db.session.scalars(sa.select(Product).where(Product.stream_id == stream.id)):
        data = product_json(product, stream_key=stream.stream_key)
        data["version"] += 1
        after_commit(product_events.announce_deleted, data)
    db.session.delete(stream)
    db.session.commit()


# --- media-server hooks ----------------------------------------------------------------------


class PublishRefused(Exception):
    """The media server must refuse the publisher."""


def publish_started(publish_key: str) -> LiveStream:
    """on_publish: a SCHEDULED stream goes live; a LIVE one may reconnect; an ENDED one is over."""
    stream = db.session.scalar(
        sa.select(LiveStream)
        .where(LiveStream.publish_key == publish_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if stream is None or stream.status == "ENDED":
        db.session.rollback()  # release the row lock at once
        raise PublishRefused("unknown publish key" if stream is None else "the stream has ended")
    if stream.status == "SCHEDULED":
        _go_live(stream)
    db.session.commit()
    return stream


def publish_stopped(publish_key: str) -> LiveStream | None:
    """on_unpublish: the live stream ends. Unknown keys and streams not live are a no-op."""
    stream = db.session.scalar(
        sa.select(LiveStream)
        .where(LiveStream.publish_key == publish_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if stream is not None and stream.status == "LIVE":
        _finish(stream)
    db.session.commit()
    return stream


# --- featured product ------------------------------------------------------------------------


def set_featured_product(stream_id: uuid.UUID, product_id: uuid.UUID) -> dict:
    stream = _find(stream_id, lock=True)
    if stream.status == "ENDED":
        raise _state_conflict(stream, "given a featured product")
    product = db.session.get(Product, product_id)
    if product is None or product.status == "HIDDEN":
        raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
    if product.stream_id != stream.id:
        raise Conflict("PRODUCT_NOT_IN_STREAM", "Only a product of this stream can be featured")
    stream.featured_product_id = product.id
    after_commit(product_events.announce_featured, stream.stream_key, product.id)
    db.session.commit()
    return stream_detail(stream.id, admin=True)


def clear_featured_product(stream_id: uuid.UUID) -> dict:
    stream = _find(stream_id, lock=True)
    if stream.featured_product_id is not None:
        stream.featured_product_id = None
        after_commit(product_events.announce_featured, stream.stream_key, None)
    db.session.commit()
    return stream_detail(stream.id, admin=True)


# --- reading ---------------------------------------------------------------------------------


def stream_detail(stream_id: uuid.UUID, admin: bool = False) -> dict:
    stream = _find(stream_id)
    data = stream_json(stream, private=admin)
    data["viewerCount"] = viewer_count(stream.stream_key) if stream.status == "LIVE" else 0
    featured = None
    if stream.featured_product_id is not None:
        product = db.session.get(Product, stream.featured_product_id)
        if product is not None and product.status != "HIDDEN":
            featured = product_json(product, stream_key=stream.stream_key)
    data["featuredProduct"] = featured
    return data


def status_by_key(stream_key: str) -> dict:
    stream = db.session.scalar(sa.select(LiveStream).where(LiveStream.stream_key == stream_key))
    if stream is None:
        raise NotFound("STREAM_NOT_FOUND", "Live stream not found")
    live = stream.status == "LIVE"
    return {
        "id": str(stream.id),
        "streamKey": stream.stream_key,
        "title": stream.title,
        "status": stream.status,
        "isLive": live,
        "viewerCount": viewer_count(stream.stream_key) if live else 0,
        "startedAt": iso(stream.started_at),
        "endedAt": iso(stream.ended_at),
        "featuredProductId": str(stream.featured_product_id) if stream.featured_product_id else None,
    }


def _page(statement, page_query, order_by) -> tuple[list[LiveStream], int]:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))
    rows = db.session.scalars(statement.order_by(*order_by).offset(page_query.offset).limit(page_query.limit)).all()
    return list(rows), total


def active_streams(page_query) -> tuple[list[dict], int]:
    statement = sa.select(LiveStream).where(LiveStream.status == "LIVE")
    rows, total = _page(statement, page_query, (LiveStream.started_at.desc(), LiveStream.id))
    items = streams_json(rows)
    for item in items:
        item["viewerCount"] = viewer_count(item["streamKey"])
    return items, total


def upcoming_streams(page_query) -> tuple[list[dict], int]:
    statement = sa.select(LiveStream).where(LiveStream.status == "SCHEDULED")
    order = (LiveStream.scheduled_at.asc().nulls_last(), LiveStream.created_at.asc(), LiveStream.id)
    rows, total = _page(statement, page_query, order)
    return streams_json(rows), total


def all_streams(query: StreamListQuery) -> tuple[list[dict], int]:
    statement = sa.select(LiveStream)
    if query.status is not None:
        statement = statement.where(LiveStream.status == query.status)
    rows, total = _page(statement, query, (LiveStream.created_at.desc(), LiveStream.id))
    return streams_json(rows, private=True), total
