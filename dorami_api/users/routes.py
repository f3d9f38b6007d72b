"""/api/v1/users: the caller's own profile and shipping address."""

from __future__ import annotations

from flask import Blueprint

from dorami_api.auth.guards import current_principal, login_required
from dorami_api.users import service
from dorami_api.users.schemas import ProfileUpdate, ShippingAddress
from dorami_api.users.serializers import user_json
from dorami_api.web.responses import ok
from dorami_api.web.validation import body, documented

bp = Blueprint("users", __name__)


@bp.get("/me")
@documented("Your profile", tags=("users",), errors=(401,))
@login_required
def get_me():
    return ok(user_json(service.get_user(current_principal().user_id)))


@bp.patch("/me")
@documented("Update your profile (name, phone, instagramId, depositorName)", tags=("users",), errors=(400, 401, 409))
@login_required
@body(ProfileUpdate)
def update_me(body: ProfileUpdate):
    changes = {field: getattr(body, field) for field in body.model_fields_set}
    return ok(user_json(service.update_profile(current_principal().user_id, changes)))


@bp.get("/me/shipping-address")
@documented("Your shipping address (null when none is set)", tags=("users",), errors=(401,))
@login_required
def get_shipping_address():
    return ok(service.shipping_address(service.get_user(current_principal().user_id)))


@bp.put("/me/shipping-address")
@documented("Set your shipping address (stored encrypted)", tags=("users",), errors=(400, 401))
@login_required
@body(ShippingAddress)
def put_shipping_address(body: ShippingAddress):
    return ok(service.set_shipping_address(current_principal().user_id, body.stored()))
