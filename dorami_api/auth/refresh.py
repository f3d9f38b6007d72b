"""Refresh-token rotation with reuse detection.

Every refresh retires the presented token and issues a new pair. The session row is locked
(SELECT ... FOR UPDATE) so that concurrent refreshes of one session are serialised:

- the current token → rotate: the new token becomes current, the old one `previous`;
- the previous token within REFRESH_REUSE_GRACE_SECONDS of its rotation (two tabs refreshing at
  once) → the pair the first refresh produced, so both callers end up holding the same valid
  tokens. That pair waits in Redis for the grace window, encrypted with a key derived from the
  retired token itself: only a holder of that token can read it, and Redis never holds a usable
  refresh token;
- any other token of the session (a retired token after the window, or an older one) → somebody
  replayed a stolen token: the whole session is revoked and the revocation published.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from dorami_api.auth import tokens
from dorami_api.auth.models import AuthSession
from dorami_api.auth.sessions import revoke_sessions
from dorami_api.auth.tokens import TokenPair
from dorami_api.db.types import utcnow
from dorami_api.errors import ApiError
from dorami_api.extensions import db, redis_store
from dorami_api.users.models import User

GRACE_PREFIX = "auth:refresh-grace:"


def _failed(message: str = "The refresh token is invalid or expired") -> ApiError:
    return ApiError(401, "TOKEN_REFRESH_FAILED", message)


def _grace() -> timedelta:
    return timedelta(seconds=current_app.config["DORAMI"].refresh_reuse_grace_seconds)


def refresh_session(presented: str | None, _second_look: bool = False) -> tuple[User, TokenPair]:
    if not presented:
        raise ApiError(401, "NO_REFRESH_TOKEN", "No refresh token was presented")
    try:
        claims = tokens.decode(presented)
        session_id, user_id = uuid.UUID(claims["sid"]), uuid.UUID(claims["sub"])
    except Exception:  # forged, expired, malformed or from another deployment
        raise _failed() from None
    if claims.get("type") != "refresh":
        raise _failed()

    presented_hash = tokens.token_hash(presented)
    session = db.session.scalar(
        sa.select(AuthSession)
        .where(AuthSession.id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    now = utcnow()
    if session is None or session.user_id != user_id or session.revoked_at or session.expires_at <= now:
        db.session.rollback()
        raise _failed()
    user = db.session.get(User, user_id)
    if user is None or user.status == "SUSPENDED":
        db.session.rollback()
        raise _failed()

    if presented_hash == session.refresh_token_hash:
        pair = tokens.issue_token_pair(str(user_id), str(session_id), user.role)
        # Compare-and-swap on top of the row lock: where the database cannot lock rows (the
        # embedded SQLite), a concurrent rotation makes this match nothing instead of
        # overwriting the winner's token.
        swapped = db.session.execute(
            sa.update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.refresh_token_hash == presented_hash)
            .values(
                previous_refresh_hash=presented_hash,
                refresh_token_hash=tokens.token_hash(pair.refresh_token),
                rotated_at=now,
                last_used_at=now,
                expires_at=pair.refresh_expires_at,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if swapped != 1:
            db.session.rollback()
            if _second_look:
                raise _failed()
            return refresh_session(presented, _second_look=True)  # now a grace-window replay
        _remember_for_grace(presented, presented_hash, pair)  # before commit: the loser finds it
        db.session.commit()
        return user, pair

    current_hash = session.refresh_token_hash
    in_grace = (
        presented_hash == session.previous_refresh_hash
        and session.rotated_at is not None
        and now - session.rotated_at <= _grace()
    )
    db.session.rollback()  # releases the row lock
    if in_grace:
        pair = _recall_for_grace(presented, presented_hash)
        if pair is not None and tokens.token_hash(pair.refresh_token) == current_hash:
            return user, pair
        # Not replayable (the session moved on again): refuse without punishing the session.
        raise _failed("The refresh token was just rotated; use the newest one")

    revoke_sessions(user_id, [session_id], "refresh_token_reuse")
    raise _failed("The refresh token was already used; the session has been revoked")


def _grace_key(old_token: str) -> bytes:
    return hashlib.sha256(b"dorami-refresh-grace:" + old_token.encode()).digest()


def _remember_for_grace(old_token: str, old_hash: str, pair: TokenPair) -> None:
    seconds = int(_grace().total_seconds())
    if seconds <= 0:
        return
    payload = json.dumps(
        {
            "access": pair.access_token,
            "refresh": pair.refresh_token,
            "accessExp": pair.access_expires_at.timestamp(),
            "refreshExp": pair.refresh_expires_at.timestamp(),
            "accessJti": pair.access_jti,
            "refreshJti": pair.refresh_jti,
        }
    ).encode()
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(_grace_key(old_token)).encrypt(nonce, payload, old_hash.encode())
    # A little longer than the window: the database decides whether the window is still open.
    redis_store.set(GRACE_PREFIX + old_hash, base64.b64encode(sealed).decode(), ex=seconds + 5)


def _recall_for_grace(old_token: str, old_hash: str) -> TokenPair | None:
    stored = redis_store.get(GRACE_PREFIX + old_hash)
    if not stored:
        return None
    sealed = base64.b64decode(stored)
    try:
        data = json.loads(AESGCM(_grace_key(old_token)).decrypt(sealed[:12], sealed[12:], old_hash.encode()))
    except (InvalidTag, ValueError):
        return None
    return TokenPair(
        access_token=data["access"],
        refresh_token=data["refresh"],
        access_expires_at=datetime.fromtimestamp(data["accessExp"], UTC),
        refresh_expires_at=datetime.fromtimestamp(data["refreshExp"], UTC),
        access_jti=data["accessJti"],
        refresh_jti=data["refreshJti"],
    )
