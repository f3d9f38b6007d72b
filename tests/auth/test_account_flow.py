"""The account life cycle over real HTTP (gunicorn, PostgreSQL, Redis): register → login → me →
refresh → replay of the retired refresh token (session revoked) → login → logout → the old
access token is refused."""

from __future__ import annotations

import requests

from tests.support.auth import PASSWORD, auth_header

EMAIL = "flow@dorami.test"


def _post(server, path, **kwargs):
    return requests.post(
        f"{server.url}/api/v1{path}", headers=kwargs.pop("headers", {}) | {"Connection": "close"}, timeout=10, **kwargs
    )


def _get(server, path, headers=None):
    return requests.get(f"{server.url}/api/v1{path}", headers=(headers or {}) | {"Connection": "close"}, timeout=10)


def test_register_login_refresh_reuse_logout(live_server):
    server = live_server(REFRESH_REUSE_GRACE_SECONDS="0")

    registered = _post(server, "/auth/register", json={"email": EMAIL, "password": PASSWORD, "name": "Flow"})
    assert registered.status_code == 201
    body = registered.json()["data"]
    assert set(body) == {"accessToken", "refreshToken", "accessTokenExpiresAt", "user"}
    assert body["user"]["email"] == EMAIL and body["user"]["role"] == "USER"
    cookies = {c.name: c for c in registered.cookies}
    assert cookies["accessToken"].value == body["accessToken"]
    assert cookies["accessToken"].has_nonstandard_attr("HttpOnly")
    assert cookies["refreshToken"].value == body["refreshToken"]

    login = _post(server, "/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert login.status_code == 200
    tokens = login.json()["data"]

    me = _get(server, "/auth/me", auth_header(tokens["accessToken"]))
    assert me.status_code == 200
    assert me.json()["data"]["email"] == EMAIL
    assert me.headers["Cache-Control"] == "no-store"

    refreshed = _post(server, "/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200
    new = refreshed.json()["data"]
    assert new["refreshToken"] != tokens["refreshToken"] and new["accessToken"] != tokens["accessToken"]
    assert _get(server, "/auth/me", auth_header(new["accessToken"])).status_code == 200

    # The retired token again, after the (zero) grace window: a replay, so the session dies.
    replay = _post(server, "/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert replay.status_code == 401
    assert replay.json()["errorCode"] == "TOKEN_REFRESH_FAILED"
    for token in (new["accessToken"], tokens["accessToken"]):
        refused = _get(server, "/auth/me", auth_header(token))
        assert (refused.status_code, refused.json()["errorCode"]) == (401, "TOKEN_REVOKED")
    assert _post(server, "/auth/refresh", json={"refreshToken": new["refreshToken"]}).status_code == 401

    again = _post(server, "/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()["data"]
    assert _get(server, "/auth/me", auth_header(again["accessToken"])).status_code == 200
    logout = _post(server, "/auth/logout", headers=auth_header(again["accessToken"]))
    assert logout.status_code == 200
    cleared = {c.name: c.value for c in logout.cookies}
    assert cleared.get("accessToken", "") == "" and "accessToken" in logout.headers["Set-Cookie"]
    after = _get(server, "/auth/me", auth_header(again["accessToken"]))
    assert after.status_code == 401 and after.json()["success"] is False
    assert _post(server, "/auth/refresh", json={"refreshToken": again["refreshToken"]}).status_code == 401
