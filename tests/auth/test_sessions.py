"""Logout, logout-all, session list and revocation; suspension; the blocklist's TTL."""

from __future__ import annotations

from dorami_api.auth.blocklist import blocklist_key
from dorami_api.auth.tokens import decode
from dorami_api.extensions import redis_store
from tests.support.auth import PASSWORD, auth_header, create_user, register, signed_in


def _login(client, email):
    response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return response.get_json()["data"]


def _me(client, tokens):
    return client.get("/api/v1/auth/me", headers=auth_header(tokens["accessToken"]))


def test_logout_blocklists_the_access_token_for_its_remaining_lifetime(make_app, revocations):
    app = make_app(JWT_EXPIRATION="5m")
    client = app.test_client(use_cookies=False)
    tokens = register(client)
    other = _login(client, tokens["user"]["email"])
    assert client.post("/api/v1/auth/logout", headers=auth_header(tokens["accessToken"])).status_code == 200
    refused = _me(client, tokens)
    assert (refused.status_code, refused.get_json()["errorCode"]) == (401, "TOKEN_REVOKED")
    with app.app_context():
        jti = decode(tokens["accessToken"])["jti"]
        assert 290 <= redis_store.ttl(blocklist_key(jti)) <= 301
    assert _me(client, other).status_code == 200  # another device stays signed in
    assert revocations[-1][2] == "logout"


def test_logout_all_signs_out_every_device(app, revocations):
    client = app.test_client(use_cookies=False)
    first = register(client)
    second = _login(client, first["user"]["email"])
    assert client.post("/api/v1/auth/logout-all", headers=auth_header(second["accessToken"])).status_code == 200
    assert _me(client, first).status_code == 401 and _me(client, second).status_code == 401
    assert revocations == [(first["user"]["id"], None, "logout_all")]


def test_sessions_are_listed_with_the_current_one_marked_and_can_be_revoked(app, revocations):
    client = app.test_client(use_cookies=False)
    laptop = register(client)
    phone = _login(client, laptop["user"]["email"])
    listed = client.get("/api/v1/auth/sessions", headers=auth_header(phone["accessToken"])).get_json()["data"][
        "sessions"
    ]
    assert len(listed) == 2
    current = [s for s in listed if s["current"]]
    assert len(current) == 1 and current[0]["id"] == decode_sid(app, phone["accessToken"])

    laptop_id = decode_sid(app, laptop["accessToken"])
    response = client.delete(f"/api/v1/auth/sessions/{laptop_id}", headers=auth_header(phone["accessToken"]))
    assert response.status_code == 204
    assert _me(client, laptop).status_code == 401
    assert _me(client, phone).status_code == 200
    assert revocations == [(laptop["user"]["id"], [laptop_id], "session_revoked")]
    again = client.delete(f"/api/v1/auth/sessions/{laptop_id}", headers=auth_header(phone["accessToken"]))
    assert again.status_code == 404


def test_another_users_session_is_a_404(app):
    client = app.test_client(use_cookies=False)
    mine, theirs = register(client), register(client)
    their_sid = decode_sid(app, theirs["accessToken"])
    response = client.delete(f"/api/v1/auth/sessions/{their_sid}", headers=auth_header(mine["accessToken"]))
    assert (response.status_code, response.get_json()["errorCode"]) == (404, "SESSION_NOT_FOUND")
    assert (
        client.delete("/api/v1/auth/sessions/not-a-uuid", headers=auth_header(mine["accessToken"])).status_code == 404
    )
    assert _me(client, theirs).status_code == 200
    ids = [
        s["id"]
        for s in client.get("/api/v1/auth/sessions", headers=auth_header(mine["accessToken"])).get_json()["data"][
            "sessions"
        ]
    ]
    assert their_sid not in ids


def test_suspension_refuses_the_users_token_at_once(app, revocations):
    client = app.test_client(use_cookies=False)
    _, admin_headers = signed_in(app, role="ADMIN")
    victim = create_user(app, email="victim@dorami.test", password=PASSWORD)
    tokens = _login(client, "victim@dorami.test")
    assert _me(client, tokens).status_code == 200
    response = client.patch(
        f"/api/v1/admin/users/{victim.id}/status",
        json={"status": "SUSPENDED", "reason": "fraud"},
        headers=admin_headers,
    )
    assert response.status_code == 200 and response.get_json()["data"]["status"] == "SUSPENDED"
    refused = _me(client, tokens)
    assert refused.status_code == 401
    assert client.post("/api/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]}).status_code == 401
    assert revocations == [(str(victim.id), None, "suspended")]
    client.patch(f"/api/v1/admin/users/{victim.id}/status", json={"status": "ACTIVE"}, headers=admin_headers)
    assert _me(client, _login(client, "victim@dorami.test")).status_code == 200


def decode_sid(app, access_token):
    with app.app_context():
        return decode(access_token)["sid"]
