"""A signed-in request is checked against a session this process remembers, yet revoking the
session takes effect at once on every process. Two apps on the same PostgreSQL and Redis stand for
two processes (two workers, two hosts): one has just served the token, the other revokes it."""

from __future__ import annotations

from tests.support import services
from tests.support.auth import signed_in


def _me(app, headers) -> tuple[int, str | None]:
    response = app.test_client().get("/api/v1/auth/me", headers=headers)
    return response.status_code, (response.get_json() or {}).get("errorCode")


def test_a_logout_on_one_process_refuses_the_token_at_once_on_another(make_app):
    serving, other = make_app(), make_app()
    session = signed_in(serving)
    assert _me(serving, session.headers) == (200, None)
    assert _me(serving, session.headers) == (200, None)  # now served from what it remembers

    logout = other.test_client().post("/api/v1/auth/logout", headers=session.headers)
    assert logout.status_code == 200, logout.get_json()

    assert _me(serving, session.headers) == (401, "TOKEN_REVOKED")


def test_a_suspension_on_one_process_refuses_the_users_other_sessions_at_once(make_app):
    serving, other = make_app(), make_app()
    phone = signed_in(serving)
    user = phone.user
    laptop = signed_in(serving, user=user)
    assert _me(serving, phone.headers) == (200, None)
    assert _me(serving, laptop.headers) == (200, None)

    admin_headers = signed_in(other, role="ADMIN").headers
    suspended = other.test_client().patch(
        f"/api/v1/admin/users/{user.id}/status", json={"status": "SUSPENDED", "reason": "test"}, headers=admin_headers
    )
    assert suspended.status_code == 200, suspended.get_json()

    assert _me(serving, phone.headers) == (401, "ACCOUNT_SUSPENDED")
    assert _me(serving, laptop.headers) == (401, "ACCOUNT_SUSPENDED")


def test_after_a_redis_flush_a_revocation_still_takes_effect_at_once(make_app, redis_url):
    serving, other = make_app(), make_app()
    session = signed_in(serving)
    assert _me(serving, session.headers) == (200, None)

    services.flush_redis(redis_url)  # the epoch the remembered session was trusted under is gone
    assert _me(serving, session.headers) == (200, None)  # read again, remembered under a new one
    logout = other.test_client().post("/api/v1/auth/logout", headers=session.headers)
    assert logout.status_code == 200, logout.get_json()

    assert _me(serving, session.headers) == (401, "TOKEN_REVOKED")
