"""/api/v1/admin/users: list, detail (address decrypted for admins) and suspension."""

from __future__ import annotations

from flask import Blueprint

from dorami_api.auth.guards import admin_required, current_principal
from dorami_api.users import service
from dorami_api.users.schemas import AdminUserQuery, UserStatusChange
from dorami_api.users.serializers import admin_user_json
from dorami_api.web.responses import ok, page_of
from dorami_api.web.validation import body, documented, query

bp = Blueprint("admin_users", __name__)


@bp.get("")
@documented("Users, newest first (search by email, name or Instagram id; filter by status)", tags=("admin",))
@admin_required
@query(AdminUserQuery)
def list_users(query: AdminUserQuery):
    users, total = service.list_users(query.search, query.status, query.page, query.limit)
    return ok(page_of([admin_user_json(u) for u in users], query.page, query.limit, total))


@bp.get("/<user_id>")
@documented("One user, with the decrypted shipping address", tags=("admin",), errors=(401, 403, 404))
@admin_required
def get_user(user_id: str):
    user = service.get_user(user_id)
    return ok({**admin_user_json(user), "shippingAddress": service.shipping_address(user)})


@bp.patch("/<user_id>/status")
@documented("Suspend (every session revoked at once) or reactivate", tags=("admin",), errors=(401, 403, 404, 409))
@admin_required
@body(UserStatusChange)
def change_status(user_id: str, body: UserStatusChange):
    user = service.change_status(current_principal().user_id, user_id, body.status, body.reason)
    return ok(admin_user_json(user))
