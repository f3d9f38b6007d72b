"""/api/v1/products: the public catalogue and its admin."""

from __future__ import annotations

import uuid

from flask import Blueprint

from dorami_api.auth.guards import admin_required
from dorami_api.errors import Forbidden
from dorami_api.products import list_cache, service
from dorami_api.products.schemas import (
    ProductCreate,
    ProductListQuery,
    ProductOut,
    ProductUpdate,
    StockAdjustment,
)
from dorami_api.web.fields import page_schema
from dorami_api.web.responses import created, no_content, ok, ok_serialised, page_of
from dorami_api.web.validation import body, documented, query
from dorami_api.web.viewer import viewer_is_admin

bp = Blueprint("products", __name__)
TAGS = ("products",)


PUBLIC_LIST_FRESHNESS = (
    "Every viewer of a live stream reads the same page, so each server process keeps a public page "
    f"(anonymous and non-admin readers) for up to {list_cache.TTL_SECONDS:g} s: a change is visible at "
    "once to reads served by the process that made it, and within that time to every other process "
    "(up to twice that, plus the time to read it afresh, for a reader arriving while the page is "
    "being rebuilt). Administrators' lists are always read afresh."
)


@bp.get("")
@documented(
    "List products (hidden and expired ones never, except for admins asking includeHidden)",
    response=page_schema(ProductOut),
    errors=(400, 403),
    tags=TAGS,
    auth="optional",
    description=PUBLIC_LIST_FRESHNESS,
)
@query(ProductListQuery)
def list_products(query: ProductListQuery):
    """The public page comes from the per-process list cache: fresh at once in the process that
    made a change, within list_cache.TTL_SECONDS in the others (PUBLIC_LIST_FRESHNESS)."""
    include_hidden = query.includeHidden or query.status == "HIDDEN"
    admin = viewer_is_admin()
    if include_hidden and not admin:
        raise Forbidden("FORBIDDEN", "Only administrators see hidden products")
    if not admin:
        return ok_serialised(service.public_page_json(query))
    items, total = service.list_products(query, include_hidden=include_hidden)
    return ok(page_of(items, query.page, query.limit, total))


@bp.get("/<uuid:product_id>")
@documented(
    "A product (a hidden one is 404 except for admins)", response=ProductOut, errors=(404,), tags=TAGS, auth="optional"
)
def get_product(product_id: uuid.UUID):
    return ok(service.get_product(product_id, include_hidden=viewer_is_admin()))


# What a buyer does with a product: the created product's id goes into these bodies.
_PRODUCT_ID = "$response.body#/data/id"
PRODUCT_LINKS = {
    "AddToCart": {"operationId": "cart_add_post", "requestBody": {"productId": _PRODUCT_ID, "quantity": 1}},
    "JoinWaitlist": {"operationId": "waitlist_join_post", "requestBody": {"productId": _PRODUCT_ID, "quantity": 1}},
    "OrderDirectly": {
        "operationId": "orders_direct_post",
        "requestBody": {"items": [{"productId": _PRODUCT_ID, "quantity": 1}]},
    },
}


@bp.post("")
@documented(
    "Create a product (broadcast live:product:added)",
    response=ProductOut,
    status=201,
    errors=(400, 404, 409),
    tags=TAGS,
    links=PRODUCT_LINKS,
)
@admin_required
@body(ProductCreate)
def create_product(body: ProductCreate):
    return created(service.create_product(body))


@bp.patch("/<uuid:product_id>")
@documented(
    "Edit a product; `variants` replaces the list (broadcast live:product:updated)",
    response=ProductOut,
    errors=(400, 404, 409),
    tags=TAGS,
)
@admin_required
@body(ProductUpdate)
def update_product(product_id: uuid.UUID, body: ProductUpdate):
    return ok(service.update_product(product_id, body))


@bp.delete("/<uuid:product_id>")
@documented("Delete a product (broadcast live:product:deleted)", status=204, errors=(404,), tags=TAGS)
@admin_required
def delete_product(product_id: uuid.UUID):
    service.delete_product(product_id)
    return no_content()


@bp.post("/<uuid:product_id>/stock")
@documented(
    "Adjust stock on hand by a signed delta (never below 0: 409)",
    response=ProductOut,
    errors=(400, 404, 409),
    tags=TAGS,
)
@admin_required
@body(StockAdjustment)
def adjust_stock(product_id: uuid.UUID, body: StockAdjustment):
    return ok(service.adjust_stock(product_id, body))


@bp.post("/<uuid:product_id>/sold-out")
@documented(
    "Close the sale: nothing more is available (broadcast live:product:soldout)",
    response=ProductOut,
    errors=(404, 409),
    tags=TAGS,
)
@admin_required
def mark_sold_out(product_id: uuid.UUID):
    return ok(service.mark_sold_out(product_id))
