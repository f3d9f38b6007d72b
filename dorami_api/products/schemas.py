"""Request and response schemas of the catalogue: they validate requests and describe
both directions in the OpenAPI document."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dorami_api.realtime.broadcast import ROOT
from dorami_api.realtime.catalogue import server_event
from dorami_api.web.fields import MoneyIn, MoneyOut, PageQuery, Timestamp, UtcDatetime
from dorami_api.web.validation import Schema

MAX_IMAGES = 10
MAX_VARIANTS = 50
MAX_STOCK = 1_000_000
MAX_HOLD_MINUTES = 7 * 24 * 60

MAX_PER_BUYER = (
    "The most units one user may hold and buy in all (live holds plus orders not cancelled); "
    "past it: 409 BUYER_LIMIT_REACHED. Absent or null: no cap"
)

ImageUrl = Annotated[str, Field(min_length=1, max_length=2048)]


class NewVariantIn(Schema):
    """A variant of a new product (it has no id yet)."""

    color: str | None = Field(None, max_length=50)
    size: str | None = Field(None, max_length=50)
    label: str | None = Field(None, max_length=100)
    price: MoneyIn
    stock: int = Field(0, ge=0, le=MAX_STOCK)
    sortOrder: int = Field(0, ge=-1_000_000, le=1_000_000)


class VariantIn(NewVariantIn):
    id: uuid.UUID | None = Field(None, description="An existing variant to update; omit to create one")


def _distinct_options(variants: list[NewVariantIn] | None) -> None:
    if not variants:
        return
    seen_options, seen_ids = set(), set()
    for variant in variants:
        options = (variant.color, variant.size, variant.label)
        if options in seen_options:
            raise ValueError("two variants have the same color, size and label")
        seen_options.add(options)
        if getattr(variant, "id", None) is not None:
            if variant.id in seen_ids:
                raise ValueError("a variant id is listed twice")
            seen_ids.add(variant.id)


class ProductCreate(Schema):
    streamId: uuid.UUID | None = Field(None, description="The live stream selling it; omit for a store product")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    price: MoneyIn
    originalPrice: MoneyIn | None = None
    imageUrl: str | None = Field(None, min_length=1, max_length=2048)
    images: list[ImageUrl] = Field(default_factory=list, max_length=MAX_IMAGES)
    status: Literal["AVAILABLE", "HIDDEN"] = Field(
        "AVAILABLE", description="HIDDEN keeps it off every public list; AVAILABLE turns SOLD_OUT at zero stock"
    )
    stock: int | None = Field(
        None, ge=0, le=MAX_STOCK, description="Units on hand; with variants it is their sum and may be omitted"
    )
    holdMinutes: int = Field(10, ge=0, le=MAX_HOLD_MINUTES, description="Cart hold timer; 0 = no timer")
    maxPerBuyer: int | None = Field(None, ge=1, le=MAX_STOCK, description=MAX_PER_BUYER)
    sortOrder: int = Field(0, ge=-1_000_000, le=1_000_000)
    expiresAt: UtcDatetime | None = Field(None, description="After this moment the product is no longer listed")
    variants: list[NewVariantIn] = Field(default_factory=list, max_length=MAX_VARIANTS)

    @model_validator(mode="after")
    def _check(self):
        _distinct_options(self.variants)
        return self


class ProductUpdate(Schema):
    """Every field optional; `variants`, when sent, is the complete new list (variants left out
    are removed, those with an id are updated, the others created)."""

    streamId: uuid.UUID | None = None
    # Optional, but not nullable (a default of None is never validated): description,
    # originalPrice, imageUrl, streamId and expiresAt may be cleared with null.
    name: str = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    price: MoneyIn = None
    originalPrice: MoneyIn | None = None
    imageUrl: str | None = Field(None, min_length=1, max_length=2048)
    images: list[ImageUrl] = Field(None, max_length=MAX_IMAGES)
    status: Literal["AVAILABLE", "HIDDEN"] = None
    stock: int = Field(None, ge=0, le=MAX_STOCK)
    holdMinutes: int = Field(None, ge=0, le=MAX_HOLD_MINUTES)
    maxPerBuyer: int | None = Field(None, ge=1, le=MAX_STOCK, description=f"{MAX_PER_BUYER}; null removes the cap")
    sortOrder: int = Field(None, ge=-1_000_000, le=1_000_000)
    expiresAt: UtcDatetime | None = None
    variants: list[VariantIn] = Field(None, max_length=MAX_VARIANTS)

    @model_validator(mode="after")
    def _check(self):
        _distinct_options(self.variants)
        return self


class StockAdjustment(Schema):
    delta: int = Field(
        ge=-MAX_STOCK,
        le=MAX_STOCK,
        description="Signed change of units on hand",
        json_schema_extra={"not": {"const": 0}},
    )
    variantId: uuid.UUID | None = Field(None, description="Required for a product with variants")

    @model_validator(mode="after")
    def _non_zero(self):
        if self.delta == 0:
            raise ValueError("delta must not be 0")
        return self


class ProductListQuery(PageQuery):
    streamId: uuid.UUID | None = None
    streamKey: str | None = Field(None, min_length=1, max_length=64)
    status: Literal["AVAILABLE", "SOLD_OUT", "HIDDEN"] | None = Field(
        None, description="HIDDEN only with includeHidden (admins)"
    )
    search: str | None = Field(None, min_length=1, max_length=100, description="In the name, case-insensitive")
    includeHidden: bool = Field(False, description="Admins only: also list hidden and expired products")


# --- responses ----------------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariantOut(Out):
    id: str
    color: str | None
    size: str | None
    label: str | None
    price: MoneyOut
    stock: int
    available: int
    sortOrder: int


class ProductOut(Out):
    id: str
    streamId: str | None
    streamKey: str | None
    name: str
    description: str | None
    price: MoneyOut
    originalPrice: MoneyOut | None
    imageUrl: str | None
    images: list[str]
    status: Literal["AVAILABLE", "SOLD_OUT", "HIDDEN"]
    stock: int = Field(description="Units on hand")
    available: int = Field(description="Units on hand minus live cart holds")
    holdMinutes: int
    maxPerBuyer: int | None = Field(description=MAX_PER_BUYER)
    sortOrder: int
    version: int = Field(description="Increases with every change; drop broadcasts older than the one you hold")
    variants: list[VariantOut]
    expiresAt: Timestamp | None
    createdAt: Timestamp
    updatedAt: Timestamp


class LowStock(Out):
    productId: str
    productName: str
    available: int = Field(gt=0, lt=5)


# To the stream's room in `/` (only for a product of a stream).
server_event(ROOT, "live:product:added", ProductOut, "A product was added to the stream")
server_event(ROOT, "live:product:updated", ProductOut, "A product changed (price, stock, availability, ...)")
server_event(ROOT, "live:product:soldout", ProductOut, "A product sold out")
server_event(ROOT, "live:product:deleted", ProductOut, "A product was removed or hidden")
server_event(ROOT, "product:low-stock", LowStock, "Fewer than 5 units are available")
