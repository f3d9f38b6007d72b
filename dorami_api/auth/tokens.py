"""JWT access and refresh tokens (HS256, Flask-JWT-Extended) with these claims:
string `sub`, `jti`, `type`, `sid` (the auth session id) and `role`."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token

from dorami_api.auth.blocklist import is_blocked
from dorami_api.errors import error_response
from dorami_api.extensions import jwt

ACCESS_COOKIE = "accessToken"
_VERIFIED = "verified_tokens"
REFRESH_COOKIE = "refreshToken"


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    app.config.update(
        JWT_SECRET_KEY=config.jwt_secret,
        JWT_ALGORITHM="HS256",
        JWT_ACCESS_TOKEN_EXPIRES=config.access_ttl,
        JWT_REFRESH_TOKEN_EXPIRES=config.refresh_ttl,
        JWT_TOKEN_LOCATION=["headers", "cookies"],
        JWT_ACCESS_COOKIE_NAME=ACCESS_COOKIE,
        JWT_REFRESH_COOKIE_NAME=REFRESH_COOKIE,
        # CSRF is Flask-WTF's job (one mechanism per request), not the JWT cookies'.
        JWT_COOKIE_CSRF_PROTECT=False,
        JWT_COOKIE_SECURE=config.is_production,
        JWT_COOKIE_SAMESITE="Lax",
        JWT_ERROR_MESSAGE_KEY="message",
    )
    jwt.init_app(app)
    app.extensions[_VERIFIED] = VerifiedTokens()
    # Flask-JWT-Extended answers its own failures with 401/422 {"msg"}; every one of them is a 401
    # in the error envelope here, should any code path reach its decorators or decoder.
    jwt.expired_token_loader(_expired)
    jwt.invalid_token_loader(_invalid)
    jwt.unauthorized_loader(_missing)
    jwt.revoked_token_loader(_revoked)
    jwt.needs_fresh_token_loader(_not_fresh)
    jwt.user_lookup_error_loader(_no_user)
    jwt.token_verification_failed_loader(_claims_refused)
    jwt.token_in_blocklist_loader(_is_blocklisted)


def _expired(_header, _payload):
    return error_response(401, "TOKEN_EXPIRED", "The token has expired")


def _invalid(_reason):
    return error_response(401, "UNAUTHORIZED", "Invalid token")


def _missing(_reason):
    return error_response(401, "UNAUTHORIZED", "Authentication required")


def _revoked(_header, _payload):
    return error_response(401, "TOKEN_REVOKED", "The token has been revoked")


def _not_fresh(_header, _payload):
    return error_response(401, "UNAUTHORIZED", "A fresh login is required")


def _no_user(_header, _payload):
    return error_response(401, "UNAUTHORIZED", "The account no longer exists")


def _claims_refused(_header, _payload):
    return error_response(401, "UNAUTHORIZED", "Invalid token")


def _is_blocklisted(_header, payload) -> bool:
    return is_blocked(payload.get("jti"))


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    access_jti: str
    refresh_jti: str


def issue_token_pair(user_id: str, session_id: str, role: str) -> TokenPair:
    claims = {"sid": session_id, "role": role}
    access = create_access_token(identity=user_id, additional_claims=claims)
    refresh = create_refresh_token(identity=user_id, additional_claims=claims)
    access_claims = decode_token(access)
    refresh_claims = decode_token(refresh)
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=datetime.fromtimestamp(access_claims["exp"], UTC),
        refresh_expires_at=datetime.fromtimestamp(refresh_claims["exp"], UTC),
        access_jti=access_claims["jti"],
        refresh_jti=refresh_claims["jti"],
    )


def bearer_token(authorization: str) -> str | None:
    """The credentials of an `Authorization: Bearer <token>` header; None for any other scheme or
    an empty value."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def token_hash(token: str) -> str:
    """Refresh tokens are stored only as this hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def decode(token: str, allow_expired: bool = False, remember: bool = True) -> dict:
    """Signature and expiry only; callers check type, blocklist and session (decode_token
    checks neither). A token whose signature this app has verified is remembered until it
    expires (VerifiedTokens), unless `remember` is False: a caller that verifies a token once
    and keeps what it learned (a socket's connect) looks it up but does not add it."""
    if allow_expired:
        return decode_token(token, allow_expired=True)
    verified: VerifiedTokens = current_app.extensions[_VERIFIED]
    claims = verified.claims(token)
    if claims is None:
        claims = decode_token(token)
        if remember:
            verified.remember(token, claims)
    return dict(claims)  # the caller's own copy


class VerifiedTokens:
    """Tokens whose signature this app has verified, by their exact text, each until its `exp`.

    Verifying a signature (HS256 through Flask-JWT-Extended and PyJWT) was a tenth of a signed-in
    read's CPU, for the same token on every request of a client; with the rate limiter on it ran
    twice per request (the limit's key, then the route's guard). The same text with the same
    secret always verifies the same way, so only the expiry can change the answer, and it is
    checked on every hit. Revocation is not decided here: the blocklist and the session are still
    checked on every request (auth/remembered_sessions.py). Bounded: when full it starts again
    empty, which only costs a verification per token.
    """

    MAX_TOKENS = 10_000

    def __init__(self) -> None:
        self.entries: dict[str, dict] = {}

    def claims(self, token: str) -> dict | None:
        claims = self.entries.get(token)
        if claims is None:
            return None
        if claims["exp"] <= time.time():  # PyJWT's rule: expired from `exp` on
            self.entries.pop(token, None)
            return None  # decoded again, which raises the expiry
        return claims

    def remember(self, token: str, claims: dict) -> None:
        if not isinstance(claims.get("exp"), int | float):
            return  # a token without an expiry is never remembered
        if len(self.entries) >= self.MAX_TOKENS:
            self.entries.clear()
        self.entries[token] = claims


def access_ttl_seconds() -> int:
    return int(current_app.config["DORAMI"].access_ttl.total_seconds())
