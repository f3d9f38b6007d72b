"""Drill: Redis answers reads but holds writes (a failover in progress, a replica promoted late,
`CLIENT PAUSE ... WRITE`) just as a signed-in request has checked its session in PostgreSQL.
Remembering the session is best effort: the request is answered, and the next one once Redis
writes again is remembered as usual."""

from __future__ import annotations

from tests.support.auth import signed_in


def test_a_session_checked_while_redis_holds_writes_is_still_served(make_app, own_redis):
    app = make_app(REDIS_URL=own_redis.url)
    session = signed_in(app)
    control = own_redis.client()
    # Longer than the client's socket timeout (2 s): the write to remember the session times out.
    control.execute_command("CLIENT", "PAUSE", 4000, "WRITE")

    response = app.test_client().get("/api/v1/auth/me", headers=session.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"]["id"] == str(session.user.id)

    control.execute_command("CLIENT", "UNPAUSE")
    assert app.test_client().get("/api/v1/auth/me", headers=session.headers).status_code == 200
    assert control.exists(f"auth:live-session:{session.session_id}")
