"""Accounts and sessions: register, password login, dev login, logout and session management.
Routes turn the results into cookies and JSON; nothing here touches the request."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from dorami_api.auth.blocklist import block_access_token
from dorami_api.auth.models import AuthSession
from dorami_api.auth.passwords import hash_password, needs_rehash, verify_password
from dorami_api.auth.principal import Principal
from dorami_api.auth.sessions import revoke_sessions, start_session
from dorami_api.auth.tokens import TokenPair
from dorami_api.db.types import utcnow
from dorami_api.errors import ApiError, Conflict, NotFound
from dorami_api.extensions import db
from dorami_api.users.models import User
from dorami_api.web.plain_text import displayable

# One answer for an unknown email, a wrong password and a Kakao-only account.
INVALID_CREDENTIALS = ("INVALID_CREDENTIALS", "Email or password is incorrect")


def _suspended() -> ApiError:
    return ApiError(403, "ACCOUNT_SUSPENDED", "The account is suspended")


def _dev_admin_email(email: str) -> bool:
    """ADMIN_EMAILS is read by the development dev-login alone. An email address proves nothing
    about who typed it, so register, password login and Kakao never grant a role from it: admins
    are made on the command line (users/cli.py)."""
    return email.lower() in current_app.config["DORAMI"].admin_emails


def _user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.lower()))


def _insert_or_existing(user: User, find_existing) -> User:
    """First sign-in of an account: insert it, or — when the same account signed in for the
    first time at the same moment elsewhere and won the unique key — use that row instead."""
    try:
        # The savepoint begins before the add: begin_nested() flushes pending objects first.
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        existing = find_existing()
        if existing is None:
            raise
        return existing
    return user


def register(email: str, password: str, name: str, user_agent: str | None, ip: str | None):
    email = email.lower()
    if _user_by_email(email) is not None:
        raise Conflict("EMAIL_ALREADY_REGISTERED", "An account with this email already exists")
    user = User(
        email=email,
        password_hash=hash_password(password),
        name=name,
        role="USER",
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the same email registered twice at the same moment
        db.session.rollback()
        raise Conflict("EMAIL_ALREADY_REGISTERED", "An account with this email already exists") from None
    _, pair = start_session(user, user_agent, ip)
    return user, pair


def login_with_password(email: str, password: str, user_agent: str | None, ip: str | None):
    user = _user_by_email(email)
    # Always one Argon2 verification, account or not: equal timing, equal answer.
    if not verify_password(user.password_hash if user else None, password):
        raise ApiError(401, *INVALID_CREDENTIALS)
    if user.status == "SUSPENDED":
        raise _suspended()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    _, pair = start_session(user, user_agent, ip)
    return user, pair


def dev_login(email: str, name: str | None, user_agent: str | None, ip: str | None):
    """Load tests and local work: sign in (creating the account) by email alone."""
    email = email.lower()
    user = _user_by_email(email)
    if user is None:
        user = _insert_or_existing(
            User(email=email, name=name or email.split("@")[0][:100] or "Dev"), lambda: _user_by_email(email)
        )
    elif name:
        user.name = name
    if user.status == "SUSPENDED":
        db.session.rollback()
        raise _suspended()
    if _dev_admin_email(email):
        user.role = "ADMIN"
    db.session.flush()  # a new user gets its id and defaults before the session row refers to it
    _, pair = start_session(user, user_agent, ip)
    return user, pair


def kakao_login(profile: dict, user_agent: str | None, ip: str | None) -> tuple[User, TokenPair, bool]:
    """Sign in (creating the account on first visit) from a Kakao /v2/user/me profile."""
    kakao_id = str(profile["id"])
    account = profile.get("kakao_account") or {}
    nickname = (account.get("profile") or {}).get("nickname") or (profile.get("properties") or {}).get("nickname")
    user = db.session.scalar(sa.select(User).where(User.kakao_id == kakao_id))
    is_new = user is None
    if is_new:
        user = _insert_or_existing(
            # The nickname is written by the user at Kakao: cleaned like any name (never refused).
            User(kakao_id=kakao_id, name=displayable(nickname)[:100] or "User", phone=_kakao_phone(account)),
            lambda: db.session.scalar(sa.select(User).where(User.kakao_id == kakao_id)),
        )
    elif not user.phone:
        user.phone = _kakao_phone(account)
    if user.status == "SUSPENDED":
        db.session.rollback()
        raise _suspended()
    db.session.flush()
    _, pair = start_session(user, user_agent, ip)
    return user, pair, is_new


def _kakao_phone(account: dict) -> str | None:
    """Kakao sends '+82 10-1234-5678'; stored as the domestic '01012345678'."""
    raw = account.get("phone_number") or ""
    digits = "".join(ch for ch in raw if ch.isdigit() or ch == "+")
    if digits.startswith("+82"):
        return "0" + digits[3:]
    return None


def logout(principal: Principal) -> None:
    revoke_sessions(uuid.UUID(principal.user_id), [uuid.UUID(principal.session_id)], "logout")
    block_access_token(principal.jti, principal.expires_at)


def logout_all(principal: Principal) -> int:
    count = revoke_sessions(uuid.UUID(principal.user_id), None, "logout_all")
    block_access_token(principal.jti, principal.expires_at)
    return count


def live_sessions(principal: Principal) -> list[AuthSession]:
    return list(
        db.session.scalars(
            sa.select(AuthSession)
            .where(
                AuthSession.user_id == uuid.UUID(principal.user_id),
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > utcnow(),
            )
            .order_by(AuthSession.created_at.desc())
        )
    )


def revoke_own_session(principal: Principal, session_id: str) -> bool:
    """Revoke one of the caller's live sessions; True when it was the current one. Another
    user's session is indistinguishable from a missing one (404)."""
    try:
        target = uuid.UUID(session_id)
    except ValueError:
        target = None
    owned = target and db.session.scalar(
        sa.select(AuthSession.id).where(
            AuthSession.id == target,
            AuthSession.user_id == uuid.UUID(principal.user_id),
            AuthSession.revoked_at.is_(None),
        )
    )
    if not owned:
        raise NotFound("SESSION_NOT_FOUND", "No such session")
    revoke_sessions(uuid.UUID(principal.user_id), [target], "session_revoked")
    current = str(target) == principal.session_id
    if current:
        block_access_token(principal.jti, principal.expires_at)
    return current
