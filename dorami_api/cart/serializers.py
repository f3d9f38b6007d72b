"""The cart as the API shows it: lines with absolute expiry times and money as strings."""

from __future__ import annotations

from decimal import Decimal

from dorami_api.cart.service import CartLine
from dorami_api.db.types import CENT, money_str, utcnow
from dorami_api.orders import pricing
from dorami_api.settings.service import system_config
from dorami_api.streaming.models import stream_keys
from dorami_api.web.responses import iso


def stream_key_of(line: CartLine) -> str | None:
    return stream_keys([line.product.stream_id]).get(line.product.stream_id)


def line_json(line: CartLine, stream_key: str | None = None) -> dict:
    hold, product, variant = line.hold, line.product, line.variant
    price = pricing.unit_price(product, variant)
    return {
        "id": str(hold.id),
        "productId": str(product.id),
        "variantId": str(variant.id) if variant else None,
        "productName": product.name,
        "variantLabel": pricing.variant_label(variant),
        "imageUrl": product.image_url,
        "streamId": str(product.stream_id) if product.stream_id else None,
        "streamKey": stream_key,
        "unitPrice": money_str(price),
        "quantity": hold.quantity,
        "lineTotal": money_str(price * hold.quantity),
        "source": hold.source,
        "status": hold.status,
        # Absolute, from the server clock: a client counts down against `serverTime`.
        "expiresAt": iso(hold.expires_at),
        "createdAt": iso(hold.created_at),
        "updatedAt": iso(hold.updated_at),
    }


def cart_json(lines: list[CartLine]) -> dict:
    """The cart of cart_lines(): the lines came with their stream's key and shipping terms, so only
    the shop's default fee is read here, and only for a cart with something to ship."""
    keys = {line.product.stream_id: line.stream_key for line in lines if line.stream_key is not None}
    priced = [
        (line.product.stream_id, pricing.unit_price(line.product, line.variant) * line.hold.quantity) for line in lines
    ]
    subtotal = sum((amount for _, amount in priced), Decimal("0.00"))
    fee = Decimal("0.00")
    if subtotal > 0:  # nothing to ship costs nothing (ShippingTerms.fee's rule): no settings read
        streams = {line.product.stream_id: line.shipping for line in lines if line.shipping is not None}
        fee = pricing.ShippingTerms(Decimal(system_config().default_shipping_fee).quantize(CENT), streams).fee(priced)
    expiries = [line.hold.expires_at for line in lines if line.hold.expires_at]
    return {
        "items": [line_json(line, keys.get(line.product.stream_id)) for line in lines],
        "itemCount": sum(line.hold.quantity for line in lines),
        "subtotal": money_str(subtotal),
        "shippingFee": money_str(fee),
        "total": money_str(subtotal + fee),
        "earliestExpiresAt": iso(min(expiries)) if expiries else None,
        "serverTime": iso(utcnow()),
    }
