"""Auth sessions: one row per login (its id is the JWT `sid`), revocation, and the single
function through which every revocation is published (the realtime layer hooks it to cut the
user's sockets)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from flask import Flask, current_app

from dorami_api.auth import remembered_sessions, tokens
from dorami_api.auth.models import AuthSession
from dorami_api.db.types import utcnow
from dorami_api.extensions import db
from dorami_api.users.models import User

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.extensions["revocation_listeners"] = []


def on_revocation(app: Flask, listener: Callable[[str, list[str] | None, str], None]) -> None:
    """Call listener(user_id: str, session_ids: list[str] | None, reason: str) after a revocation
    of this app commits; session_ids None means every session of the user."""
    listeners = app.extensions["revocation_listeners"]
    if listener not in listeners:
        listeners.append(listener)


def publish_revocation(user_id: str, session_ids: list[str] | None, reason: str) -> None:
    for listener in list(current_app.extensions["revocation_listeners"]):
        try:
            listener(user_id, session_ids, reason)
        except Exception:  # a listener's failure must not undo a committed revocation
            log.exception("revocation listener failed")


def start_session(user: User, user_agent: str | None = None, ip_address: str | None = None):
    """Create an auth session for `user` and return (session, TokenPair). Commits."""
    session_id = uuid.uuid4()
    pair = tokens.issue_token_pair(str(user.id), str(session_id), user.role)
    now = utcnow()
    session = AuthSession(
        id=session_id,
        user_id=user.id,
        refresh_token_hash=tokens.token_hash(pair.refresh_token),
        user_agent=(user_agent or "")[:400] or None,
        ip_address=ip_address,
        created_at=now,
        last_used_at=now,
        expires_at=pair.refresh_expires_at,
    )
    user.last_login_at = now
    db.session.add(session)
    db.session.commit()
    return session, pair


def revoke_sessions(user_id: uuid.UUID, session_ids: list[uuid.UUID] | None, reason: str) -> int:
    """Revoke some (or all, when session_ids is None) live sessions of a user. Commits, then
    publishes the revocation."""
    query = db.update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if session_ids is not None:
        query = query.where(AuthSession.id.in_(session_ids))
    result = db.session.execute(
        query.values(revoked_at=utcnow(), revoked_reason=reason[:64]).execution_options(synchronize_session=False)
    )
    db.session.commit()
    remembered_sessions.sessions_revoked(str(user_id))  # every process reads the sessions again
    publish_revocation(str(user_id), None if session_ids is None else [str(s) for s in session_ids], reason)
    return result.rowcount
