"""The product as `GET /products/{id}` returns it — also the `data` of every product broadcast
(schema: products/schemas.py ProductOut)."""

from __future__ import annotations

from dorami_api.common.db_types import money_str
from dorami_api.common.responses import iso
from dorami_api.extensions import db
from dorami_api.products import stock
from dorami_api.products.models import Product, ProductVariant


def variant_json(variant: ProductVariant) -> dict:
    return {
        "id": str(variant.id),
        "color": variant.color,
        "size": variant.size,
        "label": variant.label,
        "price": money_str(variant.price),
        "stock": variant.stock,
        "available": stock.variant_available_units(variant),
        "sortOrder": variant.sort_order,
    }


def stream_key_of(product: Product) -> str | None:
    if product.stream_id is None:
        return None
    from dorami_api.streaming.models import LiveStream

    return db.session.scalar(db.select(LiveStream.stream_key).where(LiveStream.id == product.stream_id))


def product_json(product: Product, held: int | None = None, stream_key: str | None = None) -> dict:
    """held: the product's live held units when the caller already knows them (lists);
    stream_key: its stream's key when known (looked up otherwise)."""
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
        "sortOrder": product.sort_order,
        "version": product.version,
        "variants": [variant_json(v) for v in product.variants],
        "expiresAt": iso(product.expires_at),
        "createdAt": iso(product.created_at),
        "updatedAt": iso(product.updated_at),
    }
