"""Catalogue rules: listing, creating, editing, deleting products, adjusting stock.

Every write locks the product row (stock.lock_product), settles its status through
stock.settle (SOLD_OUT at zero available, AVAILABLE again after a restock; `version` + 1) — or,
when units may have come back, through products/stock_changes.py, which serves the waitlist first —
commits, and only then broadcasts (products/events.py through after_commit).
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from dorami_api.db import transactions
from dorami_api.db.after_commit import after_commit
from dorami_api.db.read_only import read_without_transaction
from dorami_api.db.types import utcnow
from dorami_api.errors import ApiError, Conflict, NotFound
from dorami_api.extensions import db
from dorami_api.products import availability, claims, events, list_cache, stock, stock_changes
from dorami_api.products.models import Product, ProductVariant
from dorami_api.products.schemas import (
    MAX_STOCK,
    ProductCreate,
    ProductListQuery,
    ProductUpdate,
    StockAdjustment,
    VariantIn,
)
from dorami_api.products.serializers import held_by_variant, product_json
from dorami_api.streaming.models import LiveStream, stream_keys
from dorami_api.web.responses import data_json, page_of


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_products(query: ProductListQuery, include_hidden: bool = False) -> tuple[list[dict], int]:
    """One page of products and the total. The public never sees hidden or expired products."""
    conditions = []
    if query.streamId is not None:
        conditions.append(Product.stream_id == query.streamId)
    if query.streamKey is not None:
        conditions.append(
            Product.stream_id.in_(sa.select(LiveStream.id).where(LiveStream.stream_key == query.streamKey))
        )
    if query.status is not None:
        conditions.append(Product.status == query.status)
    if query.search is not None:
        conditions.append(Product.name.ilike(f"%{_escape_like(query.search)}%", escape="\\"))
    if not include_hidden:
        now = utcnow()
        conditions.append(Product.status != "HIDDEN")
        conditions.append(sa.or_(Product.expires_at.is_(None), Product.expires_at > now))

    total = db.session.scalar(sa.select(sa.func.count()).select_from(Product).where(*conditions))
    products = db.session.scalars(
        sa.select(Product)
        .where(*conditions)
        .options(selectinload(Product.variants))
        .order_by(Product.sort_order.asc(), Product.created_at.desc(), Product.id.asc())
        .offset(query.offset)
        .limit(query.limit)
    ).all()
    ids = [p.id for p in products]
    held, variant_held = stock.held_by_product(ids), held_by_variant(ids)
    keys = stream_keys(p.stream_id for p in products)
    items = [product_json(p, held.get(p.id, 0), keys.get(p.stream_id), variant_held=variant_held) for p in products]
    return items, total


def public_page_json(query: ProductListQuery) -> str:
    """The public page (no hidden or expired product) as serialised JSON, from this process's
    list cache when fresh (products/list_cache.py: this process's changes at once, other
    processes' within list_cache.TTL_SECONDS)."""

    def build() -> str:
        read_without_transaction()
        items, total = list_products(query)
        return data_json(page_of(items, query.page, query.limit, total))

    key = (query.streamId, query.streamKey, query.status, query.search, query.page, query.limit)
    return list_cache.cache().page(key, query.streamId, build)


def get_product(product_id: uuid.UUID, include_hidden: bool = False) -> dict:
    product = db.session.get(Product, product_id)
    if product is None or (product.status == "HIDDEN" and not include_hidden):
        raise NotFound("PRODUCT_NOT_FOUND", "Product not found")
    return product_json(product)


def _check_stream(stream_id: uuid.UUID | None) -> None:
    if stream_id is None:
        return
    status = db.session.scalar(sa.select(LiveStream.status).where(LiveStream.id == stream_id))
    if status is None:
        raise NotFound("STREAM_NOT_FOUND", "Live stream not found")
    if status == "ENDED":
        raise Conflict("STREAM_ENDED", "The live stream has ended; products can no longer be added to it")


def _new_variant(spec: VariantIn) -> ProductVariant:
    return ProductVariant(
        color=spec.color,
        size=spec.size,
        label=spec.label,
        price=spec.price,
        stock=spec.stock,
        sort_order=spec.sortOrder,
    )


def _units_for_variants(variants: list[VariantIn], stock_given: int | None) -> int:
    total = sum(v.stock for v in variants)
    if stock_given is not None and stock_given != total:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            "With variants, stock is the sum of the variants' stock",
            {"fields": [{"field": "stock", "message": f"must be {total} or omitted", "type": "value_error"}]},
        )
    return total


def create_product(body: ProductCreate) -> dict:
    _check_stream(body.streamId)
    units = _units_for_variants(body.variants, body.stock) if body.variants else (body.stock or 0)
    product = Product(
        stream_id=body.streamId,
        name=body.name,
        description=body.description,
        price=body.price,
        original_price=body.originalPrice,
        image_url=body.imageUrl,
        images=list(body.images),
        status=body.status if body.status == "HIDDEN" else ("AVAILABLE" if units > 0 else "SOLD_OUT"),
        stock=units,
        hold_minutes=body.holdMinutes,
        max_per_buyer=body.maxPerBuyer,
        sort_order=body.sortOrder,
        expires_at=body.expiresAt,
        version=1,
        variants=[_new_variant(v) for v in body.variants],
    )
    db.session.add(product)
    db.session.flush()
    after_commit(events.announce_product_change, product.id, None)
    db.session.commit()
    return product_json(product)


def _sync_variants(product: Product, specs: list[VariantIn]) -> None:
    """Make the product's variants exactly `specs` (product locked). Every claim on a product with
    variants names one (products/claims.py): the first variant is refused while holds, waiting
    entries or open orders name none, and a variant still claimed cannot be removed."""
    existing = {v.id: v for v in product.variants}
    for spec in specs:
        if spec.id is not None and spec.id not in existing:
            raise NotFound("VARIANT_NOT_FOUND", f"Variant {spec.id} is not a variant of this product")
    if specs and not product.variants:
        claims.refuse_variant_change(product, None)
    kept_ids = {spec.id for spec in specs if spec.id is not None}
    for variant in list(product.variants):
        if variant.id in kept_ids:
            continue
        claims.refuse_variant_change(product, variant.id)
        product.variants.remove(variant)
    # Park the kept variants on placeholder options first, so that options can swap between
    # variants without tripping the unique (product, color, size, label) constraint.
    for spec in specs:
        if spec.id is not None:
            existing[spec.id].label = f"~{spec.id.hex}"
    db.session.flush()
    for spec in specs:
        if spec.id is None:
            continue
        variant = existing[spec.id]
        variant.color, variant.size, variant.label = spec.color, spec.size, spec.label
        variant.price, variant.stock, variant.sort_order = spec.price, spec.stock, spec.sortOrder
    db.session.flush()
    for spec in specs:
        if spec.id is None:
            product.variants.append(_new_variant(spec))


_COLUMNS = {
    "name": "name",
    "description": "description",
    "price": "price",
    "originalPrice": "original_price",
    "imageUrl": "image_url",
    "holdMinutes": "hold_minutes",
    "maxPerBuyer": "max_per_buyer",
    "sortOrder": "sort_order",
    "expiresAt": "expires_at",
}


def update_product(product_id: uuid.UUID, body: ProductUpdate) -> dict:
    def work() -> Product:
        product = stock.lock_product(product_id)
        before = events.placement_of(product)
        sent = body.model_fields_set
        if "streamId" in sent and body.streamId != product.stream_id:
            _check_stream(body.streamId)
            product.stream_id = body.streamId
        for field, column in _COLUMNS.items():
            if field in sent:
                setattr(product, column, getattr(body, field))
        if "images" in sent:
            product.images = list(body.images)
        if "variants" in sent and body.variants:
            _sync_variants(product, body.variants)
            product.stock = _units_for_variants(body.variants, body.stock if "stock" in sent else None)
        elif "variants" in sent:  # every variant removed: the product keeps the stock it is given
            _sync_variants(product, [])
            product.stock = body.stock if "stock" in sent else 0
        elif "stock" in sent:
            if product.variants:
                raise ApiError(400, "VARIANT_REQUIRED", "Set the stock of each variant of this product")
            product.stock = body.stock
        if body.status == "HIDDEN":
            product.status = "HIDDEN"
        elif body.status == "AVAILABLE" and product.status == "HIDDEN":
            # Back on sale; settling turns it SOLD_OUT at once if nothing is available.
            product.status = "AVAILABLE"
        # Stock may have come back (a restock, a variant raised, the product shown again).
        settlement = stock_changes.settle_released(product)
        after_commit(events.announce_product_change, product.id, before, settlement)
        return product

    return product_json(transactions.atomic(work))


def delete_product(product_id: uuid.UUID) -> None:
    def work() -> None:
        product = stock.lock_product(product_id)
        data = product_json(product)
        data["version"] += 1  # the deletion is the product's newest change
        featuring = db.session.scalars(
            sa.select(LiveStream.stream_key).where(LiveStream.featured_product_id == product.id)
        )
        for stream_key in featuring.all():
            after_commit(events.announce_featured, stream_key, None)
        db.session.delete(product)
        after_commit(events.announce_deleted, data)
        # The gate's last word on it: unknown, so that a buy of it is answered 404 by PostgreSQL.
        after_commit(availability.publish, product.id, data["version"], 0, True)

    transactions.atomic(work)


def adjust_stock(product_id: uuid.UUID, body: StockAdjustment) -> dict:
    def work() -> Product:
        product = stock.lock_product(product_id)
        variant = stock.find_variant(product, body.variantId)
        on_hand = variant.stock if variant is not None else product.stock
        if on_hand + body.delta < 0:
            raise Conflict(
                "INSUFFICIENT_STOCK",
                f"Only {on_hand} on hand; stock cannot go below 0",
                {"productId": str(product.id), "stock": on_hand, "delta": body.delta},
            )
        if on_hand + body.delta > MAX_STOCK:  # bounded like any stock field (and far from the column's 32 bits)
            message = f"Stock can be at most {MAX_STOCK}: {on_hand} on hand"
            field = {"field": "delta", "message": message, "type": "less_than_equal"}
            raise ApiError(400, "VALIDATION_ERROR", "The request is invalid", {"fields": [field]})
        if body.delta > 0:
            stock.return_stock(product, variant, body.delta)
            stock_changes.units_released(product)
        else:
            stock.take_stock(product, variant, -body.delta)
            stock_changes.units_taken(product)
        return product

    return product_json(transactions.atomic(work))


def mark_sold_out(product_id: uuid.UUID) -> dict:
    """Close the sale: stock on hand is cut to the units already held in carts (those buyers
    keep their chance), so nothing more is available, and the product is SOLD_OUT until a
    restock. Keeping stock and status consistent means no later hold release re-opens it."""

    def work() -> Product:
        product = stock.lock_product(product_id)
        if product.status == "HIDDEN":
            raise Conflict("PRODUCT_HIDDEN", "A hidden product is not on sale")
        if product.status == "SOLD_OUT" and stock.available_units(product) == 0:
            return product
        if product.variants:
            for variant in product.variants:
                variant.stock = min(variant.stock, stock.held_quantity(product.id, variant.id, any_variant=False))
            product.stock = sum(variant.stock for variant in product.variants)
        else:
            product.stock = min(product.stock, stock.held_quantity(product.id))
        stock_changes.units_taken(product)
        return product

    return product_json(transactions.atomic(work))
