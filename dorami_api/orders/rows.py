"""What an order is made of: its lines, the buyer's snapshot, and the rows written for it —
shared by the order placed alone (orders/service.py) and the batch (orders/batch_sale.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from dorami_api.db.types import new_uuid, utcnow
from dorami_api.errors import ApiError, Conflict, Forbidden
from dorami_api.extensions import db
from dorami_api.orders import pricing
from dorami_api.orders.notifications import display_name
from dorami_api.products.models import Product, ProductVariant
from dorami_api.users.crypto import decrypt_address
from dorami_api.users.models import User
from dorami_api.web.fields import MONEY_MAX


@dataclass
class Line:
    product: Product
    variant: ProductVariant | None
    quantity: int
    price: Decimal | None = None  # a price agreed elsewhere (an auction's); else the catalogue's

    def unit_price(self) -> Decimal:
        return self.price if self.price is not None else pricing.unit_price(self.product, self.variant)


@dataclass(frozen=True)
class Buyer:
    user_id: uuid.UUID
    email: str | None
    depositor_name: str
    instagram_id: str | None
    address: dict
    shown_as: str  # the public name of the purchase notice (orders/notifications.py)


def snapshot(user: User | None) -> Buyer:
    """Who is buying: a complete profile is required; its address is snapshot decrypted."""
    if user is None or not user.profile_complete:
        raise Forbidden("PROFILE_INCOMPLETE", "Complete your name, depositor name and shipping address first")
    return Buyer(
        user_id=user.id,
        email=user.email,
        depositor_name=user.depositor_name,
        instagram_id=user.instagram_id,
        address=decrypt_address(user.shipping_address_enc, str(user.id)),
        shown_as=display_name(user),
    )


def buyers(user_ids: set[uuid.UUID]) -> dict[uuid.UUID, Buyer | ApiError]:
    """snapshot() of many users in one query: each one's Buyer, or its refusal."""
    users = {user.id: user for user in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))}
    found: dict[uuid.UUID, Buyer | ApiError] = {}
    for user_id in user_ids:
        try:
            found[user_id] = snapshot(users.get(user_id))
        except ApiError as refusal:
            found[user_id] = refusal
    return found


def order_rows(
    order_id: str,
    who: Buyer,
    key: str | None,
    lines: list[Line],
    terms: pricing.ShippingTerms,
) -> tuple[dict, list[dict]]:
    """The order's row and its items' rows (products locked, lines checked): the amounts, the
    shipping fee and the snapshots. 409 ORDER_TOO_LARGE when the total does not fit."""
    priced = [(line.product.stream_id, line.unit_price() * line.quantity) for line in lines]
    subtotal = sum((amount for _, amount in priced), Decimal("0"))
    stream_ids = [stream_id for stream_id, _ in priced]
    if not terms.covers(stream_ids):  # a product moved to another stream meanwhile
        terms = pricing.shipping_terms(stream_ids)
    fee = terms.fee(priced)
    if subtotal + fee > MONEY_MAX:  # the amounts are NUMERIC(10,2): refuse rather than fail the insert
        raise Conflict(
            "ORDER_TOO_LARGE",
            f"An order's total can be at most {MONEY_MAX}; split it into smaller orders",
            {"total": str(subtotal + fee), "maxTotal": str(MONEY_MAX)},
        )
    now = utcnow()
    order = {
        "id": order_id,
        "user_id": who.user_id,
        "status": "PENDING_PAYMENT",
        "subtotal": subtotal,
        "shipping_fee": fee,
        "total": subtotal + fee,
        "user_email": who.email,
        "depositor_name": who.depositor_name,
        "instagram_id": who.instagram_id,
        "shipping_address": who.address,
        "idempotency_key": key,
        "created_at": now,
        "updated_at": now,
    }
    items = [
        {
            "id": new_uuid(),
            "position": position,
            "product_id": line.product.id,
            "variant_id": line.variant.id if line.variant else None,
            "stream_id": line.product.stream_id,
            "product_name": line.product.name,
            "variant_label": pricing.variant_label(line.variant),
            "unit_price": line.unit_price(),
            "quantity": line.quantity,
        }
        for position, line in enumerate(lines)
    ]
    return order, items
