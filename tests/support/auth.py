"""Test helpers for accounts: create a user directly and log them in through the real session
and token code (the same code every login route uses)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from dorami_api.auth.csrf import CSRF_COOKIE
from dorami_api.auth.passwords import hash_password
from dorami_api.auth.sessions import start_session
from dorami_api.extensions import db
from dorami_api.users.crypto import encrypt_address
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


# A complete shipping profile: what a buyer needs before an order can be placed.
ADDRESS = {
    "fullName": "Dora Kim",
    "address1": "1 Market St",
    "address2": "Apt 2",
    "city": "San Francisco",
    "state": "CA",
    "zip": "94105",
}


@dataclass(frozen=True)
class SignedIn:
    """A user with a live session. Unpacks as (user, headers): `user, headers = signed_in(app)`."""

    user: User
    token: str  # the access token
    refresh: str
    session_id: str

    @property
    def headers(self) -> dict:
        return auth_header(self.token)

    def __iter__(self):
        return iter((self.user, self.headers))


def signed_in(app, role: str = "USER", *, user: User | None = None, profile: bool = False, **fields) -> SignedIn:
    """The one way tests sign a user in: a new user of `role` (with `fields`), or a new session of
    an existing `user`, started through the real session and token code every login route uses.
    profile=True: the name, depositor name and shipping address an order needs are set."""
    if user is None:
        user_id = uuid.uuid4()
        if profile:
            with app.app_context():
                fields.setdefault("depositor_name", "DORA KIM")
                fields.setdefault("shipping_address_enc", encrypt_address(ADDRESS, str(user_id)))
        user = create_user(app, id=user_id, role=role, **fields)
    with app.app_context():
        # Load the row afresh: merging the detached object would write its stale fields back.
        session, pair = start_session(db.session.get(User, user.id))
        return SignedIn(user, pair.access_token, pair.refresh_token, str(session.id))


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
