"""Test helpers for accounts: create a user directly and log them in through the real session
and token code (the same code every login route uses)."""

from __future__ import annotations

import uuid

from dorami_api.auth.csrf import CSRF_COOKIE
from dorami_api.auth.passwords import hash_password
from dorami_api.auth.sessions import start_session
from dorami_api.extensions import db
from dorami_api.users.models import User

PASSWORD = "correct horse battery"


def create_user(
    app, email: str | None = None, role: str = "USER", name: str = "Dora", password: str | None = None, **fields
) -> User:
    """A user row; with `password`, one that can sign in through POST /auth/login."""
    if password is not None:
        fields["password_hash"] = hash_password(password)
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
        # Load the row afresh: merging the detached object would write its stale fields back.
        session, pair = start_session(db.session.get(User, user.id))
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


def csrf_headers(client) -> dict:
    """The X-CSRF-Token header a web client sends: GET /auth/csrf, echo the cookie."""
    token = client.get("/api/v1/auth/csrf").get_json()["data"]["csrfToken"]
    assert client.get_cookie(CSRF_COOKIE).value == token
    return {"X-CSRF-Token": token}


def register(client, email: str | None = None, password: str = PASSWORD, name: str = "Dora") -> dict:
    """Register over HTTP; returns the response body's data (tokens and user)."""
    email = email or f"{uuid.uuid4().hex[:10]}@dorami.test"
    response = client.post("/api/v1/auth/register", json={"email": email, "password": password, "name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def auth_header(access_token: str) -> dict:
    return {"Authorization": f"Bearer {access_token}"}
