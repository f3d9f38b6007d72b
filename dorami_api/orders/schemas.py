"""Request schemas of the order routes (validation and the OpenAPI document)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from dorami_api.web.fields import DateOrDatetime
from dorami_api.web.validation import Schema

OrderStatus = Literal["PENDING_PAYMENT", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"]


class CartCheckout(Schema):
    cartItemIds: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=100)


class DirectItem(Schema):
    productId: uuid.UUID
    variantId: uuid.UUID | None = None
    quantity: int = Field(ge=1, le=100)


class DirectOrder(Schema):
    items: list[DirectItem] = Field(min_length=1, max_length=50)


class MyOrdersQuery(Schema):
    page: int = Field(default=1, ge=1, le=10_000)
    limit: int = Field(default=20, ge=1, le=100)
    status: OrderStatus | None = None


class AdminOrdersQuery(MyOrdersQuery):
    streamId: uuid.UUID | None = None
    userId: uuid.UUID | None = None
    dateFrom: DateOrDatetime | None = None
    dateTo: DateOrDatetime | None = None
    search: str | None = Field(default=None, max_length=100)


class ExportQuery(Schema):
    status: OrderStatus | None = None
    streamId: uuid.UUID | None = None
    userId: uuid.UUID | None = None
    dateFrom: DateOrDatetime | None = None
    dateTo: DateOrDatetime | None = None
    search: str | None = Field(default=None, max_length=100)


class Ship(Schema):
    trackingNumber: str = Field(min_length=1, max_length=100)


class Cancel(Schema):
    reason: str | None = Field(default=None, max_length=500)
