"""User JSON. The shipping address never appears here: its owner reads it from
/users/me/shipping-address, admins from the admin detail."""

from __future__ import annotations

from dorami_api.users.models import User
from dorami_api.web.responses import iso


def user_json(user: User) -> dict:
    return {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "status": user.status,
        "phone": user.phone,
        "instagramId": user.instagram_id,
        "depositorName": user.depositor_name,
        "hasShippingAddress": bool(user.shipping_address_enc),
        "kakaoLinked": bool(user.kakao_id),
        "profileComplete": user.profile_complete,
        "createdAt": iso(user.created_at),
        "updatedAt": iso(user.updated_at),
        "lastLoginAt": iso(user.last_login_at),
    }


def admin_user_json(user: User) -> dict:
    return {
        **user_json(user),
        "suspendedAt": iso(user.suspended_at),
        "suspensionReason": user.suspension_reason,
    }
