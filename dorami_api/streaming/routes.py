"""/api/v1/streaming: live streams. Admin writes answer with the secret publishKey;
public reads never carry it."""

from __future__ import annotations

import re
import uuid

from flask import Blueprint

from dorami_api.auth.guards import admin_required, current_principal
from dorami_api.db.read_only import read_without_transaction
from dorami_api.errors import NotFound
from dorami_api.streaming import live_status, service
from dorami_api.streaming.schemas import (
    FeaturedProductBody,
    LiveStreamOut,
    StreamAdminOut,
    StreamCreate,
    StreamDetailOut,
    StreamListQuery,
    StreamOut,
    StreamStatusOut,
    StreamUpdate,
)
from dorami_api.web.fields import PageQuery, page_schema
from dorami_api.web.responses import created, data_json, no_content, ok, ok_serialised, page_of
from dorami_api.web.validation import body, documented, query
from dorami_api.web.viewer import viewer_is_admin

bp = Blueprint("streaming", __name__)
TAGS = ("streaming",)
STREAM_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# --- public ----------------------------------------------------------------------------------


@bp.get("/streams/active")
@documented("Streams live now, with their current viewer count", response=page_schema(LiveStreamOut), tags=TAGS)
@query(PageQuery)
def active(query: PageQuery):
    items, total = service.active_streams(query)
    return ok(page_of(items, query.page, query.limit, total))


@bp.get("/streams/upcoming")
@documented("Scheduled streams, soonest first", response=page_schema(StreamOut), tags=TAGS)
@query(PageQuery)
def upcoming(query: PageQuery):
    items, total = service.upcoming_streams(query)
    return ok(page_of(items, query.page, query.limit, total))


@bp.get("/streams/<uuid:stream_id>")
@documented(
    "A stream with its featured product (admins also get publishKey)",
    response=StreamDetailOut,
    errors=(404,),
    tags=TAGS,
    auth="optional",
)
def detail(stream_id: uuid.UUID):
    return ok(service.stream_detail(stream_id, admin=viewer_is_admin()))


@bp.get("/streams/key/<stream_key>/status")
@documented(
    "Status of a stream by its public key (kept up to 1 s per server process: a change reaches every "
    "process within that)",
    response=StreamStatusOut,
    errors=(404,),
    tags=TAGS,
)
def status_by_key(stream_key: str):
    if not STREAM_KEY.match(stream_key):
        raise NotFound("STREAM_NOT_FOUND", "Live stream not found")
    data = live_status.public_status(stream_key, lambda: _read_status(stream_key))
    if data is None:
        raise NotFound("STREAM_NOT_FOUND", "Live stream not found")
    return ok_serialised(data)


def _read_status(stream_key: str) -> str | None:
    read_without_transaction()  # one round trip, not three
    try:
        return data_json(service.status_by_key(stream_key))
    except NotFound:
        return None


# --- admin -----------------------------------------------------------------------------------


@bp.get("/streams")
@documented("All streams, newest first (admin)", response=page_schema(StreamAdminOut), errors=(400,), tags=TAGS)
@admin_required
@query(StreamListQuery)
def list_all(query: StreamListQuery):
    items, total = service.all_streams(query)
    return ok(page_of(items, query.page, query.limit, total))


@bp.post("/streams")
@documented("Schedule a stream", response=StreamAdminOut, status=201, errors=(400,), tags=TAGS)
@admin_required
@body(StreamCreate)
def create(body: StreamCreate):
    return created(service.create_stream(current_principal().user_id, body))


@bp.patch("/streams/<uuid:stream_id>")
@documented("Edit a stream (not once ended)", response=StreamAdminOut, errors=(400, 404, 409), tags=TAGS)
@admin_required
@body(StreamUpdate)
def update(stream_id: uuid.UUID, body: StreamUpdate):
    return ok(service.update_stream(stream_id, body))


@bp.post("/streams/<uuid:stream_id>/start")
@documented("Go live (SCHEDULED → LIVE)", response=StreamAdminOut, errors=(404, 409), tags=TAGS)
@admin_required
def start(stream_id: uuid.UUID):
    return ok(service.start_stream(stream_id))


@bp.post("/streams/<uuid:stream_id>/end")
@documented("End a live stream (broadcast stream:ended)", response=StreamAdminOut, errors=(404, 409), tags=TAGS)
@admin_required
def end(stream_id: uuid.UUID):
    return ok(service.end_stream(stream_id))


@bp.post("/streams/<uuid:stream_id>/publish-key")
@documented("Replace the secret publish key (a leaked key)", response=StreamAdminOut, errors=(404, 409), tags=TAGS)
@admin_required
def rotate_publish_key(stream_id: uuid.UUID):
    return ok(service.rotate_publish_key(stream_id))


@bp.delete("/streams/<uuid:stream_id>")
@documented("Delete a stream that never went live (409 otherwise)", status=204, errors=(404, 409), tags=TAGS)
@admin_required
def delete(stream_id: uuid.UUID):
    service.delete_stream(stream_id)
    return no_content()


@bp.put("/streams/<uuid:stream_id>/featured-product")
@documented(
    "Pin a product of the stream (broadcast stream:featured-product:updated)",
    response=StreamDetailOut,
    errors=(400, 404, 409),
    tags=TAGS,
)
@admin_required
@body(FeaturedProductBody)
def set_featured(stream_id: uuid.UUID, body: FeaturedProductBody):
    return ok(service.set_featured_product(stream_id, body.productId))


@bp.delete("/streams/<uuid:stream_id>/featured-product")
@documented(
    "Unpin the featured product (broadcast stream:featured-product:updated)",
    response=StreamDetailOut,
    errors=(404,),
    tags=TAGS,
)
@admin_required
def clear_featured(stream_id: uuid.UUID):
    return ok(service.clear_featured_product(stream_id))
