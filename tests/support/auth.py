"""Test helpers for accounts: create a user directly and log them in through the real session
and token code (the same code every login route uses)."""

from __future__ import annotations

import uuid

from dorami_api.auth.sessions import start_session
from dorami_api.extensions import db
from dorami_api.users.models import User


def create_user(app, email: str | None = None, role: str = "USER", name: str = "Dora", **fields) -> User:
    with app.app_context():
        user = User(email=email or f"{uuid.uuid4().hex[:10]}@dorami.test", name=name, role=role, **fields)
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def login(app, user: User) -> dict:
    """Start a real auth session; returns {access, refresh, session_id, headers}."""
    with app.app_context():
        session, pair = start_session(db.session.merge(user))
        return {
            "access": pair.access_token,
            "refresh": pair.refresh_token,
            "session_id": str(session.id),
            "headers": {"Authorization": f"Bearer {pair.access_token}"},
        }


def bearer(app, role: str = "USER", **fields) -> tuple[User, dict]:
    """A new user (or admin) and the Authorization headers of a fresh login."""
    user = create_user(app, role=role, **fields)
    return user, login(app, user)["headers"]
