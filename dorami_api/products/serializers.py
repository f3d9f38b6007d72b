"""The product as `GET /products/{id}` returns it — also the `data` of every product broadcast
(schema: products/schemas.py ProductOut)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from dorami_api.cart.models import CartHold
from dorami_api.db.types import money_str
from dorami_api.extensions import db
from dorami_api.products import stock
from dorami_api.products.models import Product, ProductVariant
from dorami_api.streaming.models import stream_keys
from dorami_api.web.responses import iso


def variant_json(variant: ProductVariant, held: int | None = None) -> dict:
    available = stock.variant_available_units(variant) if held is None else max(variant.stock - held, 0)
    return {
        "id": str(variant.id),
        "color": variant.color,
        "size": variant.size,
        "label": variant.label,
        "price": money_str(variant.price),
        "stock": variant.stock,
        "available": available,
        "sortOrder": variant.sort_order,
    }


def stream_key_of(product: Product) -> str | None:
    return stream_keys([product.stream_id]).get(product.stream_id)


def held_by_variant(product_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Live held units per variant of many products, in one query (lists)."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        sa.select(CartHold.variant_id, sa.func.sum(CartHold.quantity))
        .where(CartHold.product_id.in_(product_ids), CartHold.variant_id.is_not(None), stock.live_hold_filter())
        .group_by(CartHold.variant_id)
    )
    return {variant_id: int(total) for variant_id, total in rows}


def product_json(
    product: Product,
    held: int | None = None,
    stream_key: str | None = None,
    *,
    variant_held: dict[uuid.UUID, int] | None = None,
) -> dict:
    """held: the product's live held units when the caller already knows them (lists);
    stream_key: its stream's key when known (looked up otherwise); variant_held: live held units
    per variant id (from held_by_variant), for lists."""
    if stream_key is None:
        stream_key = stream_key_of(product)
    return {
        "id": str(product.id),
        "streamId": str(product.stream_id) if product.stream_id else None,
        "streamKey": stream_key,
        "name": product.name,
        "description": product.description,
        "price": money_str(product.price),
        "originalPrice": money_str(product.original_price),
        "imageUrl": product.image_url,
        "images": list(product.images or []),
        "status": product.status,
        "stock": product.stock,
        "available": stock.available_units(product, held),
        "holdMinutes": product.hold_minutes,
        "maxPerBuyer": product.max_per_buyer,
        "sortOrder": product.sort_order,
        "version": product.version,
        "variants": [
            variant_json(v, None if variant_held is None else variant_held.get(v.id, 0)) for v in product.variants
        ],
        "expiresAt": iso(product.expires_at),
        "createdAt": iso(product.created_at),
        "updatedAt": iso(product.updated_at),
    }
