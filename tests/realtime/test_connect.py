"""Connect-time authentication on the three namespaces, over a real gunicorn server."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token

from dorami_api.auth.sessions import revoke_sessions
from dorami_api.extensions import db
from dorami_api.users.models import User
from tests.support import services
from tests.support.auth import create_user, signed_in
from tests.support.sockets import NAMESPACES, SocketRefused, Viewer


@pytest.fixture
def server(live_server):
    return live_server()


def refusal(url, **kwargs) -> dict:
    with pytest.raises(SocketRefused) as refused:
        Viewer(url, **kwargs)
    return refused.value.errors


def test_a_socket_without_a_token_is_refused_with_unauthorized_on_every_namespace(server):
    errors = refusal(server.url)
    assert errors == dict.fromkeys(NAMESPACES, "UNAUTHORIZED")


@pytest.mark.parametrize("how", ["auth", "header", "cookie"])
def test_the_token_is_read_from_auth_then_header_then_cookie(app, server, how):
    user = create_user(app)
    token = signed_in(app, user=user).token
    kwargs = {
        "auth": {"auth": {"token": token}},
        "header": {"headers": {"Authorization": f"Bearer {token}"}},
        "cookie": {"headers": {"Cookie": f"accessToken={token}"}},
    }[how]
    viewer = Viewer(server.url, **kwargs)
    try:
        welcome = viewer.wait_for("connection:success", "/chat")
        assert welcome["data"] == {"userId": str(user.id), "authenticated": True, "namespace": "/chat"}
    finally:
        viewer.close()


def test_expired_revoked_and_suspended_tokens_get_their_own_codes(app, server):
    user = create_user(app)
    tokens = signed_in(app, user=user)
    with app.app_context():
        expired = create_access_token(
            identity=str(user.id),
            additional_claims={"type": "access", "sid": tokens.session_id, "role": "USER"},
            expires_delta=timedelta(seconds=-5),
        )
    assert set(refusal(server.url, token=expired, namespaces=["/chat"]).values()) == {"TOKEN_EXPIRED"}
    assert set(refusal(server.url, token="not-a-jwt", namespaces=["/chat"]).values()) == {"UNAUTHORIZED"}

    with app.app_context():
        revoke_sessions(user.id, None, "logout")
    assert refusal(server.url, token=tokens.token, namespaces=["/chat"]) == {"/chat": "TOKEN_REVOKED"}

    other = create_user(app)
    other_token = signed_in(app, user=other).token
    with app.app_context():
        db.session.get(User, other.id).status = "SUSPENDED"
        db.session.commit()
    assert refusal(server.url, token=other_token, namespaces=["/chat"]) == {"/chat": "ACCOUNT_SUSPENDED"}


def test_guests_are_refused_unless_allowed_and_never_reach_chat(live_server):
    server = live_server(SOCKET_ALLOW_GUESTS="true")
    guest = Viewer(server.url, namespaces=["/", "/streaming"])
    try:
        assert guest.wait_for("connection:success", "/")["data"]["authenticated"] is False
    finally:
        guest.close()
    assert refusal(server.url, namespaces=["/chat"]) == {"/chat": "UNAUTHORIZED"}
    # A bad token is refused even when guests are allowed: the client must refresh it.
    assert refusal(server.url, namespaces=["/streaming"], token="stale") == {"/streaming": "UNAUTHORIZED"}


def test_revoking_one_session_cuts_only_its_sockets(app, server):
    user = create_user(app)
    first, second = signed_in(app, user=user), signed_in(app, user=user)
    revoked = Viewer(server.url, token=first.token)
    kept = Viewer(server.url, token=second.token)
    try:
        kept.wait_for("connection:success", "/chat")
        with app.app_context():
            revoke_sessions(user.id, [uuid.UUID(first.session_id)], "session-deleted")
        for namespace in NAMESPACES:
            assert revoked.wait_for("session:revoked", namespace)["data"] == {"reason": "session-deleted"}
        revoked.wait_disconnected()
        assert kept.client.connected and not kept.received("session:revoked")
    finally:
        revoked.close()
        kept.close()


def _connected_twice(app, server):
    """A new session of a new user, connected twice (each namespace of each connection checks the
    session), so the server has just seen it live when a test revokes it without its token being
    blocklisted. Returns (user, tokens)."""
    user = create_user(app)
    tokens = signed_in(app, user=user)
    for _ in range(2):
        viewer = Viewer(server.url, token=tokens.token)
        viewer.wait_for("connection:success", "/chat")
        viewer.close()
    return user, tokens


def test_a_revoked_session_cannot_connect_again_even_just_after_connecting(app, server):
    user, tokens = _connected_twice(app, server)
    watcher = Viewer(server.url, token=tokens.token, namespaces=["/chat"])
    try:
        with app.app_context():
            revoke_sessions(user.id, [uuid.UUID(tokens.session_id)], "session-deleted")
        watcher.wait_for("session:revoked", "/chat")
        assert refusal(server.url, token=tokens.token) == dict.fromkeys(NAMESPACES, "TOKEN_REVOKED")
    finally:
        watcher.close()


def test_a_connect_right_after_a_revocation_is_refused_before_any_socket_is_told(app, server):
    """The server remembers the session from the connects just before; the revocation's new
    session epoch in Redis, not the control command to its sockets, is what refuses the next
    connect, so there is nothing to wait for."""
    user, tokens = _connected_twice(app, server)
    with app.app_context():
        revoke_sessions(user.id, [uuid.UUID(tokens.session_id)], "session-deleted")
    assert refusal(server.url, token=tokens.token) == dict.fromkeys(NAMESPACES, "TOKEN_REVOKED")


def test_after_a_redis_flush_a_revocation_still_refuses_the_next_connect(app, server, redis_url):
    """The flush takes the session epoch the server trusted its remembered session under; the
    next connect reads the session again under a fresh epoch, which the revocation replaces."""
    user, tokens = _connected_twice(app, server)
    services.flush_redis(redis_url)
    viewer = Viewer(server.url, token=tokens.token)
    viewer.wait_for("connection:success", "/chat")
    viewer.close()
    with app.app_context():
        revoke_sessions(user.id, [uuid.UUID(tokens.session_id)], "session-deleted")
    assert refusal(server.url, token=tokens.token) == dict.fromkeys(NAMESPACES, "TOKEN_REVOKED")


def test_the_embedded_mode_without_redis_serves_sockets_in_one_process(app, live_server):
    server = live_server(REDIS_URL="")
    user = create_user(app)
    viewer = Viewer(server.url, token=signed_in(app, user=user).token, namespaces=["/chat"])
    try:
        # No stream table check can pass for a made-up key, but the round trip proves the
        # in-process rate limiter (Lua on the embedded Redis) and the reply path work.
        assert viewer.call("chat:join-room", {"liveId": "nope"}, "/chat")["errorCode"] == "STREAM_NOT_FOUND"
    finally:
        viewer.close()
