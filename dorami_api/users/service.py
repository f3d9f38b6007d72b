"""Profiles, shipping addresses and account status. No request objects here."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dorami_api.auth.sessions import revoke_sessions
from dorami_api.db.types import utcnow
from dorami_api.errors import ApiError, Conflict, NotFound
from dorami_api.extensions import db
from dorami_api.users.crypto import decrypt_address, encrypt_address
from dorami_api.users.models import User

PROFILE_FIELDS = {"name": "name", "phone": "phone", "instagram_id": "instagram_id", "depositor_name": "depositor_name"}


def _uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def get_user(user_id: str | uuid.UUID) -> User:
    key = _uuid(user_id)
    user = db.session.get(User, key) if key else None
    if user is None:
        raise NotFound("USER_NOT_FOUND", "No such user")
    return user


def _instagram_taken() -> Conflict:
    return Conflict("INSTAGRAM_ID_TAKEN", "This Instagram id is already used by another account")


def update_profile(user_id: str, changes: dict) -> User:
    """Apply the given fields (already validated and normalised); 409 on a taken Instagram id."""
    user = get_user(user_id)
    handle = changes.get("instagram_id")
    if handle and handle != user.instagram_id:
        taken = db.session.scalar(sa.select(User.id).where(User.instagram_id == handle, User.id != user.id))
        if taken:
            raise _instagram_taken()
    for field, value in changes.items():
        setattr(user, PROFILE_FIELDS[field], value)
    try:
        db.session.commit()
    except IntegrityError:  # two accounts claiming the same handle at the same moment
        db.session.rollback()
        raise _instagram_taken() from None
    return user


def set_shipping_address(user_id: str, address: dict) -> dict:
    user = get_user(user_id)
    user.shipping_address_enc = encrypt_address(address, str(user.id))
    db.session.commit()
    return address


def shipping_address(user: User) -> dict | None:
    return decrypt_address(user.shipping_address_enc, str(user.id))


def list_users(search: str | None, status: str | None, page: int, limit: int) -> tuple[list[User], int]:
    query = sa.select(User)
    if status:
        query = query.where(User.status == status)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                User.email.ilike(pattern, escape="\\"),
                User.name.ilike(pattern, escape="\\"),
                User.instagram_id.ilike(pattern, escape="\\"),
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    users = db.session.scalars(
        query.order_by(User.created_at.desc(), User.id).offset((page - 1) * limit).limit(limit)
    ).all()
    return list(users), total or 0


def change_status(admin_id: str, user_id: str, status: str, reason: str | None) -> User:
    """Suspension takes effect at once: every session is revoked (and published, so sockets are
    cut) and every request re-checks the status anyway."""
    user = get_user(user_id)
    if status == "SUSPENDED" and str(user.id) == str(admin_id):
        raise ApiError(409, "CANNOT_SUSPEND_SELF", "Administrators cannot suspend their own account")
    if status == "SUSPENDED":
        user.status = "SUSPENDED"
        user.suspended_at = utcnow()
        user.suspension_reason = reason
    else:
        user.status = "ACTIVE"
        user.suspended_at = None
        user.suspension_reason = None
    db.session.commit()
    if status == "SUSPENDED":
        revoke_sessions(user.id, None, "suspended")
    return user
