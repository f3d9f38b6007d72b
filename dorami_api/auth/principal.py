"""Who is calling: one check shared by HTTP requests and socket connections.

signature + expiry → type `access` → jti not in the Redis blocklist → the auth session is live
and belongs to the user → the user exists and is not suspended. Every failure is a 401 ApiError
with the code a client can act on. Nothing fails open. The steps are here; auth/remembered_sessions.py
`authenticate` runs them in order (the blocklist in the same Redis round trip as the session epoch).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt as pyjwt

from dorami_api.auth import tokens
from dorami_api.auth.models import AuthSession
from dorami_api.db.read_only import read_without_transaction
from dorami_api.errors import ApiError
from dorami_api.extensions import db
from dorami_api.users.models import User


@dataclass(frozen=True)
class Principal:
    user_id: str
    session_id: str
    jti: str
    expires_at: datetime
    role: str
    name: str
    instagram_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "ADMIN"


def unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message)


@dataclass(frozen=True)
class LiveSession:
    """What the auth session row says of a live session: all a principal needs besides the token."""

    user_id: str
    session_id: str
    expires_at: datetime
    role: str
    name: str
    instagram_id: str | None

    @property
    def is_live(self) -> bool:
        return self.expires_at > datetime.now(UTC)


def decoded_claims(token: str | None, remember: bool = True) -> dict:
    """The claims of a well-formed, unexpired access token (signature, type); not yet checked
    against the blocklist. `remember`: tokens.decode's."""
    if not token:
        raise unauthorized("UNAUTHORIZED", "Authentication required")
    try:
        claims = tokens.decode(token, remember=remember)
    except pyjwt.ExpiredSignatureError:
        raise unauthorized("TOKEN_EXPIRED", "The access token has expired") from None
    except Exception:  # any malformed, forged or foreign token
        raise unauthorized("UNAUTHORIZED", "Invalid token") from None
    if claims.get("type") != "access":
        raise unauthorized("UNAUTHORIZED", "Invalid token type")
    if not (claims.get("jti") and claims.get("sid") and claims.get("sub")):
        raise unauthorized("UNAUTHORIZED", "Invalid token")
    return claims


def live_session(claims: dict) -> LiveSession:
    """The token's auth session, read from PostgreSQL: it must exist, belong to the user, be
    neither revoked nor expired, and the user must not be suspended."""
    try:
        session_id, user_id = uuid.UUID(claims["sid"]), uuid.UUID(claims["sub"])
    except ValueError:
        raise unauthorized("UNAUTHORIZED", "Invalid token") from None
    # Usually the request's first statement: read outside a transaction (one round trip instead
    # of BEGIN, SELECT, ROLLBACK); inside a caller's transaction this reads in it as before.
    outside = read_without_transaction()
    row = db.session.execute(
        db.select(AuthSession.revoked_at, AuthSession.expires_at, User.status, User.role, User.name, User.instagram_id)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.id == session_id, AuthSession.user_id == user_id)
    ).first()
    if outside:
        db.session.rollback()  # what follows (an order, an edit) runs in a transaction again
    else:
        _end_read_transaction()
    if row is None:
        raise unauthorized("TOKEN_REVOKED", "The session no longer exists")
    if row.status == "SUSPENDED":
        raise unauthorized("ACCOUNT_SUSPENDED", "The account is suspended")
    session = LiveSession(claims["sub"], claims["sid"], row.expires_at, row.role, row.name, row.instagram_id)
    if row.revoked_at is not None or not session.is_live:
        raise unauthorized("TOKEN_REVOKED", "The session has been revoked")
    return session


def principal_of(claims: dict, session: LiveSession) -> Principal:
    return Principal(
        user_id=session.user_id,
        session_id=session.session_id,
        jti=claims["jti"],
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        role=session.role,
        name=session.name,
        instagram_id=session.instagram_id,
    )


def _end_read_transaction() -> None:
    """Give the pool connection back now instead of at the end of the request: a request that
    then waits (on a product's row lock, on a slow client) must not hold a connection it no longer
    uses. Only when the session holds nothing of its own, so no caller's work is touched."""
    session = db.session()  # the scoped session's current Session
    if not session.identity_map and not session.new and session.in_transaction():
        session.rollback()
