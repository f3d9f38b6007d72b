"""/cart: the signed-in user's holds. Another user's line is a 404."""

from __future__ import annotations

import uuid

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from dorami_api.auth.guards import current_user_id, login_required
from dorami_api.cart import service
from dorami_api.cart.serializers import cart_json, line_json, stream_key_of
from dorami_api.db.read_only import read_without_transaction
from dorami_api.realtime.broadcast import ROOT
from dorami_api.realtime.catalogue import server_event
from dorami_api.web.fields import Timestamp
from dorami_api.web.responses import created, no_content, ok
from dorami_api.web.validation import Schema, body, documented

bp = Blueprint("cart", __name__)


class AddToCart(Schema):
    productId: uuid.UUID
    variantId: uuid.UUID | None = None
    quantity: int = Field(default=1, ge=1, le=service.MAX_LINE_QUANTITY)


class ChangeQuantity(Schema):
    quantity: int = Field(ge=1, le=service.MAX_LINE_QUANTITY)


class HoldExpired(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cartItemId: str
    productId: str
    productName: str
    quantity: int
    expiredAt: Timestamp


server_event(ROOT, "cart:expired", HoldExpired, "A hold of your cart expired (to its owner)")


def _line(hold_id: uuid.UUID) -> dict:
    line = service.cart_line(current_user_id(), hold_id)
    return line_json(line, stream_key_of(line))


@bp.get("")
@login_required
@documented("My cart: live holds with their expiry, subtotal, shipping fee, total", tags=("cart",), auth="user")
def get_cart():
    read_without_transaction()  # reads only: no BEGIN / ROLLBACK round trips around them
    return ok(cart_json(service.cart_lines(current_user_id())))


@bp.post("")
@login_required
@body(AddToCart)
@documented(
    "Hold stock in my cart (a repeated add merges and restarts the timer, up to 2 × holdMinutes after the "
    "first hold; maxPerBuyer: 409 BUYER_LIMIT_REACHED)",
    status=201,
    errors=(400, 404, 409),
    tags=("cart",),
    auth="user",
)
def add(body: AddToCart):
    hold = service.add_to_cart(current_user_id(), body.productId, body.variantId, body.quantity)
    return created(_line(hold.id))


@bp.patch("/<uuid:item_id>")
@login_required
@body(ChangeQuantity)
@documented(
    "Change a line's quantity (re-checks availability and maxPerBuyer; only growth restarts the timer)",
    errors=(404, 409),
    tags=("cart",),
    auth="user",
)
def change(item_id: uuid.UUID, body: ChangeQuantity):
    service.change_quantity(current_user_id(), item_id, body.quantity)
    return ok(_line(item_id))


@bp.delete("/<uuid:item_id>")
@login_required
@documented("Remove a line; its units are free at once", status=204, errors=(404,), tags=("cart",), auth="user")
def remove(item_id: uuid.UUID):
    service.remove_item(current_user_id(), item_id)
    return no_content()


@bp.delete("")
@login_required
@documented("Empty my cart", status=204, tags=("cart",), auth="user")
def clear():
    service.clear_cart(current_user_id())
    return no_content()
