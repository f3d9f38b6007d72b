"""Flask-JWT-Extended's own failure paths answer 401 in the error envelope, never 422 or {"msg"}."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Blueprint
from flask_jwt_extended import create_access_token, jwt_required

from dorami_api.auth.blocklist import block_access_token
from dorami_api.auth.tokens import decode
from dorami_api.web.responses import ok
from tests.support.auth import create_user, signed_in


@pytest.fixture
def probe(app):
    blueprint = Blueprint("jwt_probe", __name__)

    @blueprint.get("/fresh")
    @jwt_required(fresh=True)
    def fresh_only():
        return ok({})

    @blueprint.get("/any")
    @jwt_required()
    def any_token():
        return ok({})

    app.register_blueprint(blueprint, url_prefix="/api/v1/jwt-probe")
    return app.test_client(use_cookies=False)


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_every_jwt_failure_is_a_401_envelope(app, probe):
    user = create_user(app)
    tokens = signed_in(app, user=user)
    with app.app_context():
        expired = create_access_token(identity=str(user.id), expires_delta=timedelta(seconds=-5))
    cases = {
        "missing": probe.get("/api/v1/jwt-probe/any"),
        "garbage": probe.get("/api/v1/jwt-probe/any", headers=_bearer("not.a.jwt")),
        "expired": probe.get("/api/v1/jwt-probe/any", headers=_bearer(expired)),
        "refresh as access": probe.get("/api/v1/jwt-probe/any", headers=_bearer(tokens.refresh)),
        "not fresh": probe.get("/api/v1/jwt-probe/fresh", headers=_bearer(tokens.token)),
    }
    with app.app_context():
        claims = decode(tokens.token)
        from datetime import UTC, datetime

        block_access_token(claims["jti"], datetime.fromtimestamp(claims["exp"], UTC))
    cases["revoked"] = probe.get("/api/v1/jwt-probe/any", headers=_bearer(tokens.token))
    for name, response in cases.items():
        body = response.get_json()
        assert response.status_code == 401, name
        assert body["success"] is False and body["errorCode"] and "msg" not in body, name
    assert cases["expired"].get_json()["errorCode"] == "TOKEN_EXPIRED"
    assert cases["revoked"].get_json()["errorCode"] == "TOKEN_REVOKED"


def test_our_guards_answer_in_the_envelope_too(app):
    client = app.test_client(use_cookies=False)
    for headers in ({}, _bearer("x.y.z"), {"Authorization": "Token abc"}):
        response = client.get("/api/v1/users/me", headers=headers)
        assert response.status_code == 401 and response.get_json()["success"] is False
