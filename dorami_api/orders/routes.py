"""/orders: the buyer's side. Another user's order is a 404."""

from __future__ import annotations

from flask import Blueprint, request

from dorami_api.auth.guards import current_user_id, login_required
from dorami_api.errors import ApiError, NotFound
from dorami_api.orders import lifecycle, service
from dorami_api.orders.admission import admitted
from dorami_api.orders.models import Order
from dorami_api.orders.schemas import Cancel, CartCheckout, DirectOrder, MyOrdersQuery, OrderOut
from dorami_api.orders.serializers import order_json
from dorami_api.web.fields import page_schema
from dorami_api.web.responses import ok, page_of
from dorami_api.web.validation import body, documented, query

bp = Blueprint("orders", __name__)
# Before the routes: a rule's converter must be known when the rule is added.
bp.record_once(lambda state: state.app.url_map.converters.setdefault("order_number", lifecycle.OrderNumber))
MAX_KEY_LENGTH = 200


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        message = f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters"
        raise ApiError(400, "INVALID_IDEMPOTENCY_KEY", message)
    return key


# A placed order's number is the path of the buyer's and the admin's operations on it.
_ORDER = {"order_id": "$response.body#/data/id"}
ORDER_LINKS = {
    name: {"operationId": operation, "parameters": _ORDER}
    for name, operation in (
        ("MyOrder", "orders_my_order_get"),
        ("CancelMyOrder", "orders_cancel_post"),
        ("AdminOrder", "admin_orders_get_order_get"),
        ("ConfirmPayment", "admin_orders_confirm_payment_post"),
        ("Ship", "admin_orders_ship_post"),
        ("Deliver", "admin_orders_deliver_post"),
        ("AdminCancel", "admin_orders_cancel_post"),
    )
}


def _placed(order: Order, created: bool):
    """201 for a new order; 200 with the same body when the key was seen before."""
    return ok(order_json(order), 201 if created else 200)


@bp.post("")
@login_required
@body(CartCheckout, optional=True)
@admitted
@documented(
    "Check out my cart (all or the listed lines); honours Idempotency-Key",
    status=201,
    response=OrderOut,
    errors=(400, 403, 404, 409),
    tags=("orders",),
    auth="user",
    links=ORDER_LINKS,
)
def checkout(body: CartCheckout):
    return _placed(*service.place_cart_order(current_user_id(), body.cartItemIds, idempotency_key()))


@bp.post("/direct")
@login_required
@body(DirectOrder)
@documented(
    "Buy without a cart; honours Idempotency-Key",
    status=201,
    response=OrderOut,
    errors=(400, 403, 404, 409),
    tags=("orders",),
    auth="user",
    links=ORDER_LINKS,
)
def direct(body: DirectOrder):
    wanted = [service.Wanted(item.productId, item.variantId, item.quantity) for item in body.items]
    order, created = service.place_direct_order(current_user_id(), wanted, idempotency_key())
    return ok(order, 201 if created else 200)


@bp.get("")
@login_required
@query(MyOrdersQuery)
@documented("My orders, newest first", response=page_schema(OrderOut), tags=("orders",), auth="user")
def my_orders(query: MyOrdersQuery):
    conditions = [Order.user_id == current_user_id()]
    if query.status:
        conditions.append(Order.status == query.status)
    orders, total = service.page_orders(conditions, query.page, query.limit)
    return ok(page_of([order_json(order) for order in orders], query.page, query.limit, total))


def _my_order(order_id: str) -> Order:
    order = lifecycle.order_or_404(order_id)
    if order.user_id != current_user_id():
        raise NotFound("ORDER_NOT_FOUND", "Order not found")
    return order


@bp.get("/<order_number:order_id>")
@login_required
@documented(
    "One of my orders (with bank-transfer instructions while unpaid)",
    response=OrderOut,
    errors=(404,),
    tags=("orders",),
    auth="user",
)
def my_order(order_id: str):
    return ok(order_json(_my_order(order_id)))


@bp.post("/<order_number:order_id>/cancel")
@login_required
@body(Cancel, optional=True)
@documented(
    "Cancel my unpaid order (stock returns, the waitlist is served)",
    response=OrderOut,
    errors=(404, 409),
    tags=("orders",),
    auth="user",
)
def cancel(order_id: str, body: Cancel):
    order = lifecycle.cancel(order_id, sources=lifecycle.BUYER_CANCELLABLE, owner=current_user_id(), reason=body.reason)
    return ok(order_json(order))
