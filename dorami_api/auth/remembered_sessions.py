"""Live auth sessions this process has recently read for an HTTP request or a socket connect.

Every authenticated request (and every namespace of every socket connect) used to read its
session row and the user's status in PostgreSQL — one round trip and a pooled connection each,
most of the cost of a signed-in read. A live session read is remembered for REMEMBER_SECONDS per
process, and trusted only while the user's session epoch in Redis is the one seen before that
read. The epoch comes in the same round trip as the token's blocklist entry, so a remembered
session costs no extra round trip at all.

Revocation stays immediate on every process and host: every revocation (auth/sessions.py
`revoke_sessions`: logout, a revoked session, a suspension, a role change) gives the user a new
epoch after it commits and before it answers, so the next request anywhere reads PostgreSQL again
and is refused. An epoch is a random value, never a count: after a Redis flush or an expiry the
user gets a fresh one on the next read, which no remembered session can match.
"""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, current_app

from dorami_api.auth.blocklist import blocklist_key
from dorami_api.auth.principal import LiveSession, Principal, decoded_claims, live_session, principal_of, unauthorized
from dorami_api.extensions import redis_store

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 30.0
MAX_REMEMBERED = 50_000
EPOCH_PREFIX = "auth:session-epoch:"
EPOCH_TTL_SECONDS = 24 * 3600  # an expired epoch only costs a read and a fresh one


class RememberedSessions:
    """This app's remembered sessions: (session id, user id) -> (session, epoch, until)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], tuple[LiveSession, str, float]] = {}

    def remember(self, key: tuple[str, str], session: LiveSession, epoch: str) -> None:
        if len(self.entries) >= MAX_REMEMBERED:
            self.entries.clear()  # a bound, not a cache policy: forgetting only costs a read
        self.entries[key] = (session, epoch, time.monotonic() + REMEMBER_SECONDS)

    def forget_user(self, user_id: str) -> None:
        for key in [key for key in self.entries if key[1] == user_id]:
            self.entries.pop(key, None)


def init_app(app: Flask) -> None:
    app.extensions["remembered_sessions"] = RememberedSessions()


def _remembered() -> RememberedSessions:
    return current_app.extensions["remembered_sessions"]


def epoch_key(user_id: str) -> str:
    return f"{EPOCH_PREFIX}{user_id}"


def authenticate(token: str | None) -> Principal:
    """Who is calling an HTTP route (auth/principal.py's checks, the session remembered)."""
    claims = decoded_claims(token)
    return principal_of(claims, checked_session(claims))


def checked_session(claims: dict) -> LiveSession:
    """The live session of verified-signature claims: the blocklist and the user's epoch in one
    round trip, then the remembered session, or PostgreSQL."""
    blocked, epoch = redis_store.mget([blocklist_key(claims["jti"]), epoch_key(claims["sub"])])
    if blocked is not None:
        raise unauthorized("TOKEN_REVOKED", "The token has been revoked")
    key = (claims["sid"], claims["sub"])
    remembered = _remembered()
    entry = remembered.entries.get(key)
    if entry is not None and epoch is not None and entry[1] == epoch and entry[2] > time.monotonic():
        session, _, _ = entry
        if session.is_live:  # its refresh window can end while it is remembered
            return session
    session = live_session(claims)  # raises when revoked, expired, gone or suspended
    if epoch is None:
        # The first remembered session of the user since the epoch expired or Redis was flushed.
        # If another process set one meanwhile, or a revocation did, it differs from ours, and the
        # next request reads PostgreSQL again.
        epoch = uuid.uuid4().hex
        redis_store.set(epoch_key(claims["sub"]), epoch, nx=True, ex=EPOCH_TTL_SECONDS)
    remembered.remember(key, session, epoch)
    return session


def sessions_revoked(user_id: str) -> None:
    """After a revocation of the user's sessions has committed: no process may trust what it
    remembers of them any more."""
    _remembered().forget_user(user_id)
    try:
        redis_store.set(epoch_key(user_id), uuid.uuid4().hex, ex=EPOCH_TTL_SECONDS)
    except Exception:  # the revocation has committed; it must not turn into an error
        # Other processes may trust a remembered session of the user for up to REMEMBER_SECONDS
        # (only if Redis is back by then: until it is, no token can be checked at all).
        log.exception("session epoch of user %s not renewed", user_id)
