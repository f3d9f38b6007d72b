"""A token whose signature a process has verified is not verified again on its next requests, yet
it is refused the moment it expires, is blocklisted, or reaches an app with another secret."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from flask import request
from flask_jwt_extended import create_access_token

from dorami_api.auth.blocklist import block_access_token
from dorami_api.auth.tokens import decode
from dorami_api.realtime import connections
from dorami_api.realtime.broadcast import STREAMING
from tests.support.auth import auth_header, signed_in

ME = "/api/v1/auth/me"


def _me(app, token) -> tuple[int, str | None]:
    response = app.test_client(use_cookies=False).get(ME, headers=auth_header(token))
    return response.status_code, (response.get_json() or {}).get("errorCode")


def test_an_accepted_token_is_refused_as_expired_once_its_expiry_passes(app):
    session = signed_in(app)
    with app.app_context():
        short = create_access_token(
            identity=str(session.user.id),
            additional_claims={"sid": session.session_id, "role": "USER"},
            # `exp` is a whole second: 1 s from now can be 1 ms from now, and the token would expire
            # before it was ever accepted. 3 s leaves it at least 2 s, for two in-process requests.
            expires_delta=timedelta(seconds=3),
        )
        expires_at = decode(short)["exp"]
    assert _me(app, short) == (200, None)
    assert _me(app, short) == (200, None)  # verified before: remembered

    time.sleep(max(0.0, expires_at - time.time()) + 0.1)

    assert _me(app, short) == (401, "TOKEN_EXPIRED")


def test_a_remembered_token_is_refused_at_once_when_blocklisted(app):
    session = signed_in(app)
    assert _me(app, session.token) == (200, None)
    with app.app_context():
        claims = decode(session.token)
        block_access_token(claims["jti"], datetime.fromtimestamp(claims["exp"], UTC))

    assert _me(app, session.token) == (401, "TOKEN_REVOKED")


def test_a_token_one_app_verified_is_refused_by_an_app_with_another_secret(make_app):
    issuing = make_app()
    foreign = make_app(JWT_SECRET="another-secret-that-is-long-enough-for-hs256-987654")
    session = signed_in(issuing)
    assert _me(issuing, session.token) == (200, None)

    assert _me(foreign, session.token) == (401, "UNAUTHORIZED")


def test_a_socket_connect_checks_its_token_but_leaves_it_out_of_the_process_memory(app):
    # A viewer's socket keeps its principal; a process that remembered every connecting viewer's
    # token would hold about 2 KB per viewer for the token's life, for requests that may never come.
    session = signed_in(app)
    remembered = app.extensions["verified_tokens"].entries
    with app.test_request_context("/socket.io/"):
        request.sid = "viewer-socket"  # what Flask-SocketIO sets on a connect's request
        client = connections.authenticate(STREAMING, {"token": session.token})
    assert client.user_id == str(session.user.id)
    assert session.token not in remembered

    assert _me(app, session.token) == (200, None)
    assert session.token in remembered  # an HTTP request's token is kept for the next one
