"""Who is an administrator. Roles are given and taken by an operator with shell access (the
`flask users` commands), never by an email address: an address proves nothing about who typed it.

A change of role revokes every session of the account, so the new role holds at once: tokens
and open sockets (and the admin room they joined) carry the role they were issued with."""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError

from dorami_api.auth.passwords import hash_password
from dorami_api.auth.schemas import Email, Registration
from dorami_api.auth.sessions import revoke_sessions
from dorami_api.errors import ApiError, Conflict, NotFound
from dorami_api.extensions import db
from dorami_api.users.models import ROLES, User
from dorami_api.web.validation import validation_error

ROLE_CHANGED = "role_changed"


def account_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def _account(email: str) -> User:
    user = account_by_email(email)
    if user is None:
        raise NotFound("USER_NOT_FOUND", f"No account has the email {email.strip().lower()}")
    return user


def checked_email(email: str) -> str:
    """The email as registration stores it (validated, lower-cased)."""
    try:
        return TypeAdapter(Email).validate_python(email.strip())
    except ValidationError as error:
        reason = error.errors(include_url=False)[0]["msg"]
        raise ApiError(400, "VALIDATION_ERROR", f"{email!r} is not a valid email: {reason}") from None


def checked_registration(email: str, password: str, name: str) -> Registration:
    """The rules of POST /auth/register (email form, password length, name), for accounts the
    command line makes."""
    try:
        return Registration.model_validate({"email": email, "password": password, "name": name})
    except ValidationError as error:
        raise validation_error(error) from None


def create_account(email: str, name: str, password: str | None, role: str = "USER") -> User:
    """A new account (with a password that POST /auth/login accepts, when given). `email`, `name`
    and `password` have passed the registration rules (checked_registration)."""
    user = User(
        email=email,
        password_hash=hash_password(password) if password is not None else None,
        name=name,
        role=role,
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # the same email registered at the same moment
        db.session.rollback()
        raise Conflict("EMAIL_ALREADY_REGISTERED", "An account with this email already exists") from None
    return user


def create_admin(registration: Registration) -> User:
    return create_account(str(registration.email), registration.name, registration.password, role="ADMIN")


def set_role(email: str, role: str) -> tuple[User, bool]:
    """Give the account `role`; True when it changed (and its sessions were revoked)."""
    if role not in ROLES:
        raise ApiError(400, "VALIDATION_ERROR", f"A role is one of {', '.join(ROLES)}")
    user = _account(email)
    if user.role == role:
        return user, False
    user.role = role
    db.session.commit()
    revoke_sessions(user.id, None, ROLE_CHANGED)
    return user, True


def admins() -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.role == "ADMIN").order_by(User.created_at, User.email)))
