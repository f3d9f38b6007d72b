"""Request and response schemas of live streams."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dorami_api.products.schemas import ProductOut
from dorami_api.realtime.broadcast import CHAT, ROOT, STREAMING
from dorami_api.realtime.catalogue import server_event
from dorami_api.web.fields import MoneyIn, MoneyOut, PageQuery, Timestamp, UtcDatetime
from dorami_api.web.validation import Schema

StreamStatus = Literal["SCHEDULED", "LIVE", "ENDED"]
FreeShippingMode = Literal["DISABLED", "UNCONDITIONAL", "THRESHOLD"]


# The document states the rule StreamCreate checks: THRESHOLD needs a threshold.
_THRESHOLD_NEEDS_AMOUNT = {
    "if": {"properties": {"freeShippingMode": {"const": "THRESHOLD"}}, "required": ["freeShippingMode"]},
    "then": {"required": ["freeShippingThreshold"], "properties": {"freeShippingThreshold": {"not": {"type": "null"}}}},
}


class StreamCreate(Schema):
    model_config = ConfigDict(json_schema_extra=_THRESHOLD_NEEDS_AMOUNT)

    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    thumbnailUrl: str | None = Field(None, min_length=1, max_length=2048)
    scheduledAt: UtcDatetime | None = None
    freeShippingMode: FreeShippingMode = "DISABLED"
    freeShippingThreshold: MoneyIn | None = Field(None, description="Order subtotal from which shipping is free")

    @model_validator(mode="after")
    def _threshold(self):
        if self.freeShippingMode == "THRESHOLD" and self.freeShippingThreshold is None:
            raise ValueError("freeShippingThreshold is required when freeShippingMode is THRESHOLD")
        return self


class StreamUpdate(Schema):
    """Every field optional; title and freeShippingMode cannot be null (the others clear)."""

    model_config = ConfigDict(json_schema_extra=_THRESHOLD_NEEDS_AMOUNT)

    title: str = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    thumbnailUrl: str | None = Field(None, min_length=1, max_length=2048)
    scheduledAt: UtcDatetime | None = None
    freeShippingMode: FreeShippingMode = None
    freeShippingThreshold: MoneyIn | None = None


class FeaturedProductBody(Schema):
    productId: uuid.UUID


class StreamListQuery(PageQuery):
    status: StreamStatus | None = None


# --- responses ----------------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HostOut(Out):
    id: str
    name: str


class StreamOut(Out):
    id: str
    streamKey: str = Field(description="Public: URLs, Socket.IO rooms, chat liveId")
    title: str
    description: str | None
    thumbnailUrl: str | None
    status: StreamStatus
    isLive: bool
    host: HostOut
    scheduledAt: Timestamp | None
    startedAt: Timestamp | None
    endedAt: Timestamp | None
    durationSeconds: int | None
    peakViewers: int
    freeShippingMode: FreeShippingMode
    freeShippingThreshold: MoneyOut | None
    featuredProductId: str | None
    createdAt: Timestamp
    updatedAt: Timestamp


class StreamAdminOut(StreamOut):
    publishKey: str = Field(description="Secret RTMP ingest key (admins only)", pattern=r"^[0-9a-f]{32}$")


class LiveStreamOut(StreamOut):
    viewerCount: int


class StreamDetailOut(StreamOut):
    viewerCount: int
    featuredProduct: ProductOut | None
    publishKey: str | None = Field(None, description="Present for admins only", pattern=r"^[0-9a-f]{32}$")


class StreamStatusOut(Out):
    id: str
    streamKey: str
    title: str
    status: StreamStatus
    isLive: bool
    viewerCount: int
    startedAt: Timestamp | None
    endedAt: Timestamp | None
    featuredProductId: str | None


class FeaturedProduct(Out):
    streamKey: str
    product: ProductOut | None


class StreamEnded(Out):
    streamKey: str
    streamId: str
    endedAt: Timestamp
    durationSeconds: int
    peakViewers: int


server_event(ROOT, "stream:featured-product:updated", FeaturedProduct, "The pinned product changed (null: unpinned)")
server_event((ROOT, STREAMING, CHAT), "stream:ended", StreamEnded, "The stream ended (to its rooms in each namespace)")
