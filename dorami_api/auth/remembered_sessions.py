"""Live auth sessions recently read for an HTTP request or a socket connect, remembered in Redis
for every process.

Every authenticated request (and every namespace of every socket connect) used to read its
session row and the user's status in PostgreSQL — one round trip and a pooled connection each,
most of the cost of a signed-in read. A live session read is remembered for REMEMBER_SECONDS in
Redis (`auth:live-session:<session id>`, with the user's session epoch it was read under), and
trusted only while the user's session epoch in Redis is still that one. The epoch and the
remembered session come in the same round trip as the token's blocklist entry — for an HTTP
request with the rate limiter on, the limiter's own script (web/rate_limits.py) — so a remembered
session costs no extra round trip at all, on any process or host: a buyer whose socket was
checked by one worker and whose order reaches another is not read again (each process kept its
own memory before, which a client spread over N processes hit about 1 time in N).

Revocation stays immediate on every process and host: every revocation (auth/sessions.py
`revoke_sessions`: logout, a revoked session, a suspension, a role change) gives the user a new
epoch after it commits and before it answers, so the next request anywhere reads PostgreSQL again
and is refused. An epoch is a random value, never a count: after a Redis flush or an expiry the
user gets a fresh one on the next read, which no remembered session can match. A session is
remembered with the epoch seen *before* its row was read, so a revocation that commits between
the two leaves it under an epoch that is already gone.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from dorami_api.auth.blocklist import blocklist_key
from dorami_api.auth.principal import LiveSession, Principal, decoded_claims, live_session, principal_of, unauthorized
from dorami_api.errors import REDIS_OUTAGE
from dorami_api.extensions import redis_store

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 30
EPOCH_PREFIX = "auth:session-epoch:"
SESSION_PREFIX = "auth:live-session:"
EPOCH_TTL_SECONDS = 24 * 3600  # an expired epoch only costs a read and a fresh one


def epoch_key(user_id: str) -> str:
    return f"{EPOCH_PREFIX}{user_id}"


def session_key(session_id: str) -> str:
    return f"{SESSION_PREFIX}{session_id}"


def authenticate(token: str | None, looked_up: LookedUp | None = None, remember_token: bool = True) -> Principal:
    """Who is calling an HTTP route or a socket connect (auth/principal.py's checks, the session
    remembered). `looked_up`: what another round trip of this request already read of
    `lookup_keys` (the rate limiter's, web/rate_limits.py). `remember_token`: whether this
    process keeps the verified token for the caller's next request (tokens.decode)."""
    claims = decoded_claims(token, remember=remember_token)
    return principal_of(claims, checked_session(claims, looked_up))


@dataclass(frozen=True)
class LookedUp:
    """The values of `lookup_keys(claims)` for the token whose id is `jti`, read earlier in the
    same request."""

    jti: str
    values: tuple[str | None, str | None, str | None]


def lookup_keys(claims: dict) -> list[str]:
    """What checking the session of these claims reads in Redis: the token's blocklist entry, the
    user's epoch, the remembered session — in that order."""
    return [blocklist_key(claims["jti"]), epoch_key(claims["sub"]), session_key(claims["sid"])]


def checked_session(claims: dict, looked_up: LookedUp | None = None) -> LiveSession:
    """The live session of verified-signature claims: the blocklist, the user's epoch and the
    remembered session in one round trip (none when `looked_up` holds them for this token), then
    PostgreSQL when nothing trustworthy is remembered."""
    user_id, session_id = claims["sub"], claims["sid"]
    if looked_up is not None and looked_up.jti == claims["jti"]:
        blocked, epoch, remembered = looked_up.values
    else:
        blocked, epoch, remembered = redis_store.mget(lookup_keys(claims))
    if blocked is not None:
        raise unauthorized("TOKEN_REVOKED", "The token has been revoked")
    session = _trusted(remembered, epoch, user_id, session_id)
    if session is not None:
        return session
    session = live_session(claims)  # raises when revoked, expired, gone or suspended
    _remember(session, epoch)
    return session


def _remember(session: LiveSession, epoch: str | None) -> None:
    """Best effort: the session has been checked in PostgreSQL, and a Redis that fails now (a
    failover, a write refused) only costs the next request a read."""
    writes = redis_store.pipeline(transaction=False)
    if epoch is None:
        # The first remembered session of the user since the epoch expired or Redis was flushed.
        # If another process set one meanwhile, or a revocation did, it differs from ours, and the
        # next request reads PostgreSQL again.
        epoch = uuid.uuid4().hex
        writes.set(epoch_key(session.user_id), epoch, nx=True, ex=EPOCH_TTL_SECONDS)
    writes.set(session_key(session.session_id), _remembered_text(session, epoch), ex=REMEMBER_SECONDS)
    try:
        writes.execute()
    except REDIS_OUTAGE as error:
        log.warning("session %s checked but not remembered (%s)", session.session_id, type(error).__name__)


def _trusted(remembered: str | None, epoch: str | None, user_id: str, session_id: str) -> LiveSession | None:
    """The remembered session, if it was read under the user's current epoch and is still live."""
    if remembered is None or epoch is None:
        return None
    try:
        entry = json.loads(remembered)
        if entry["epoch"] != epoch or entry["userId"] != user_id or entry["sessionId"] != session_id:
            return None
        session = LiveSession(
            user_id,
            session_id,
            datetime.fromisoformat(entry["expiresAt"]),
            entry["role"],
            entry["name"],
            entry["instagramId"],
        )
    except (ValueError, KeyError, TypeError):  # not what this module writes: read PostgreSQL
        return None
    # Its refresh window can end while it is remembered.
    return session if session.is_live else None


def _remembered_text(session: LiveSession, epoch: str) -> str:
    return json.dumps(
        {
            "epoch": epoch,
            "userId": session.user_id,
            "sessionId": session.session_id,
            "expiresAt": session.expires_at.isoformat(),
            "role": session.role,
            "name": session.name,
            "instagramId": session.instagram_id,
        }
    )


def sessions_revoked(user_id: str) -> None:
    """After a revocation of the user's sessions has committed: no process may trust what is
    remembered of them any more."""
    try:
        redis_store.set(epoch_key(user_id), uuid.uuid4().hex, ex=EPOCH_TTL_SECONDS)
    except Exception:  # the revocation has committed; it must not turn into an error
        # A remembered session of the user may be trusted until it expires, REMEMBER_SECONDS at
        # most (only if Redis is back by then: until it is, no token can be checked at all).
        log.exception("session epoch of user %s not renewed", user_id)
