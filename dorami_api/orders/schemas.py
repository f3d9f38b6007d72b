"""Request schemas of the order routes (validation and the OpenAPI document)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dorami_api.realtime.broadcast import ROOT
from dorami_api.realtime.catalogue import server_event
from dorami_api.web.fields import DateOrDatetime, MoneyOut, Timestamp
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


# --- what the sockets receive -----------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderItemOut(Out):
    id: str
    productId: str | None
    variantId: str | None
    streamId: str | None
    productName: str
    variantLabel: str | None
    unitPrice: MoneyOut
    quantity: int
    lineTotal: MoneyOut


class AddressOut(Out):
    fullName: str
    address1: str
    address2: str | None
    city: str
    state: str
    zip: str


class BankTransferOut(Out):
    bankName: str | None
    accountNumber: str | None
    accountHolder: str | None
    amount: MoneyOut
    depositorName: str | None


class OrderOut(Out):
    id: str = Field(pattern=r"^ORD-[0-9]{8}-[0-9]{5,7}$")
    userId: str
    status: OrderStatus
    subtotal: MoneyOut
    shippingFee: MoneyOut
    total: MoneyOut
    depositorName: str | None
    instagramId: str | None
    shippingAddress: AddressOut | None
    trackingNumber: str | None
    cancelReason: str | None
    items: list[OrderItemOut]
    paidAt: Timestamp | None
    shippedAt: Timestamp | None
    deliveredAt: Timestamp | None
    cancelledAt: Timestamp | None
    createdAt: Timestamp
    updatedAt: Timestamp
    bankTransfer: BankTransferOut | None = Field(description="While the order waits for payment")


class AdminOrderOut(OrderOut):
    userEmail: str | None


class PurchaseNotice(Out):
    streamKey: str
    displayName: str
    productName: str


server_event(ROOT, "order:new", AdminOrderOut, "A new order (to admins)")
server_event(ROOT, "order:updated", OrderOut, "One of your orders changed (to its buyer)")
server_event(ROOT, "order:purchase:notification", PurchaseNotice, "Someone bought a product of the stream")
