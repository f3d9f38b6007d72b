"""The shared access-token check (HTTP and sockets): every failure is a 401 with its code."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from flask import Blueprint
from flask_jwt_extended import create_access_token

from dorami_api.auth.blocklist import block_access_token
from dorami_api.auth.guards import admin_required, current_principal, login_required
from dorami_api.auth.sessions import revoke_sessions
from dorami_api.extensions import db
from dorami_api.users.models import User
from dorami_api.web.responses import ok
from tests.support.auth import create_user, signed_in


@pytest.fixture
def guarded(app):
    probe = Blueprint("guarded", __name__)

    @probe.get("/me")
    @login_required
    def me():
        return ok({"userId": current_principal().user_id})

    @probe.get("/admin")
    @admin_required
    def admin_only():
        return ok({"admin": True})

    app.register_blueprint(probe, url_prefix="/api/v1/guarded")
    return app.test_client()


def _code(response):
    return response.status_code, response.get_json()["errorCode"]


def test_a_fresh_login_is_accepted(app, guarded):
    user = create_user(app)
    tokens = signed_in(app, user=user)
    response = guarded.get("/api/v1/guarded/me", headers=tokens.headers)
    assert response.status_code == 200
    assert response.get_json()["data"]["userId"] == str(user.id)


def test_the_access_cookie_is_accepted_too(app, guarded):
    tokens = signed_in(app)
    guarded.set_cookie("accessToken", tokens.token)
    assert guarded.get("/api/v1/guarded/me").status_code == 200


def test_no_token_is_401(guarded):
    assert _code(guarded.get("/api/v1/guarded/me")) == (401, "UNAUTHORIZED")


def test_garbage_and_foreign_tokens_are_401(app, guarded):
    assert _code(guarded.get("/api/v1/guarded/me", headers={"Authorization": "Bearer nonsense"})) == (
        401,
        "UNAUTHORIZED",
    )
    assert _code(guarded.get("/api/v1/guarded/me", headers={"Authorization": "Basic abc"})) == (401, "UNAUTHORIZED")


def test_an_expired_token_is_401_token_expired(app, guarded):
    user = create_user(app)
    tokens = signed_in(app, user=user)
    with app.app_context():
        expired = create_access_token(
            identity=str(user.id),
            additional_claims={"sid": tokens.session_id, "role": "USER"},
            expires_delta=timedelta(seconds=-5),
        )
    assert _code(guarded.get("/api/v1/guarded/me", headers={"Authorization": f"Bearer {expired}"})) == (
        401,
        "TOKEN_EXPIRED",
    )


def test_a_refresh_token_is_not_an_access_token(app, guarded):
    tokens = signed_in(app)
    response = guarded.get("/api/v1/guarded/me", headers={"Authorization": f"Bearer {tokens.refresh}"})
    assert _code(response) == (401, "UNAUTHORIZED")


def test_a_blocklisted_token_is_401_token_revoked(app, guarded):
    tokens = signed_in(app)
    with app.app_context():
        from dorami_api.auth.tokens import decode

        claims = decode(tokens.token)
        from datetime import datetime

        block_access_token(claims["jti"], datetime.fromtimestamp(claims["exp"], UTC))
    assert _code(guarded.get("/api/v1/guarded/me", headers=tokens.headers)) == (401, "TOKEN_REVOKED")


def test_a_revoked_session_refuses_its_tokens(app, guarded):
    user = create_user(app)
    tokens = signed_in(app, user=user)
    with app.app_context():
        revoke_sessions(user.id, None, "test")
    assert _code(guarded.get("/api/v1/guarded/me", headers=tokens.headers)) == (401, "TOKEN_REVOKED")


def test_a_suspended_user_is_refused(app, guarded):
    user = create_user(app)
    tokens = signed_in(app, user=user)
    with app.app_context():
        db.session.get(User, user.id).status = "SUSPENDED"
        db.session.commit()
    assert _code(guarded.get("/api/v1/guarded/me", headers=tokens.headers)) == (401, "ACCOUNT_SUSPENDED")


def test_a_token_for_another_users_session_is_refused(app, guarded):
    alice, bob = create_user(app), create_user(app)
    alice_tokens = signed_in(app, user=alice)
    with app.app_context():
        forged = create_access_token(identity=str(bob.id), additional_claims={"sid": alice_tokens.session_id})
    assert _code(guarded.get("/api/v1/guarded/me", headers={"Authorization": f"Bearer {forged}"})) == (
        401,
        "TOKEN_REVOKED",
    )


def test_admin_routes_need_the_admin_role(app, guarded):
    user_tokens = signed_in(app)
    admin_tokens = signed_in(app, role="ADMIN")
    assert _code(guarded.get("/api/v1/guarded/admin", headers=user_tokens.headers)) == (403, "FORBIDDEN")
    assert guarded.get("/api/v1/guarded/admin", headers=admin_tokens.headers).status_code == 200
