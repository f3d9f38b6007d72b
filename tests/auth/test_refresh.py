"""Refresh rotation and reuse detection."""

from __future__ import annotations

import threading
import time

import requests

from tests.support.auth import auth_header, csrf_headers, register


def _refresh(client, token=None, **kwargs):
    payload = {"json": {"refreshToken": token}} if token else {}
    return client.post("/api/v1/auth/refresh", **payload, **kwargs)


def test_a_retired_token_within_the_grace_window_gets_the_same_valid_pair(make_app, revocations):
    client = make_app(REFRESH_REUSE_GRACE_SECONDS="30").test_client(use_cookies=False)  # a native client
    first = register(client)
    one = _refresh(client, first["refreshToken"]).get_json()["data"]
    two = _refresh(client, first["refreshToken"]).get_json()["data"]
    assert two["refreshToken"] == one["refreshToken"] and two["accessToken"] == one["accessToken"]
    assert client.get("/api/v1/auth/me", headers=auth_header(two["accessToken"])).status_code == 200
    # The session lives on and keeps rotating.
    three = _refresh(client, two["refreshToken"])
    assert three.status_code == 200
    assert revocations == []


def test_a_retired_token_after_the_grace_window_revokes_the_session(make_app, revocations):
    client = make_app(REFRESH_REUSE_GRACE_SECONDS="1").test_client(use_cookies=False)
    first = register(client)
    rotated = _refresh(client, first["refreshToken"]).get_json()["data"]
    time.sleep(1.2)
    replay = _refresh(client, first["refreshToken"])
    assert replay.status_code == 401
    assert replay.get_json()["errorCode"] == "TOKEN_REFRESH_FAILED"
    assert client.get("/api/v1/auth/me", headers=auth_header(rotated["accessToken"])).status_code == 401
    assert _refresh(client, rotated["refreshToken"]).status_code == 401
    assert revocations == [(first["user"]["id"], [revocations[0][1][0]], "refresh_token_reuse")]


def test_refresh_failures_are_401_in_the_envelope(make_app):
    client = make_app().test_client(use_cookies=False)
    tokens = register(client)
    missing = _refresh(client)
    assert (missing.status_code, missing.get_json()["errorCode"]) == (401, "NO_REFRESH_TOKEN")
    for bad in ("garbage", tokens["accessToken"], tokens["refreshToken"][:-3] + "abc"):
        response = _refresh(client, bad)
        assert (response.status_code, response.get_json()["errorCode"]) == (401, "TOKEN_REFRESH_FAILED")


def test_an_expired_refresh_token_is_refused(make_app):
    client = make_app(JWT_REFRESH_EXPIRATION="1s").test_client(use_cookies=False)
    tokens = register(client)
    time.sleep(1.5)
    assert _refresh(client, tokens["refreshToken"]).status_code == 401


def test_the_browser_refreshes_with_its_cookie_and_a_csrf_token(make_app):
    client = make_app().test_client()
    register(client)
    assert _refresh(client).get_json()["errorCode"] == "CSRF_TOKEN_MISSING"
    response = _refresh(client, headers=csrf_headers(client))
    assert response.status_code == 200
    assert client.get_cookie("refreshToken", path="/api/v1/auth").value == response.get_json()["data"]["refreshToken"]
    assert client.get("/api/v1/auth/me").status_code == 200  # the new access cookie


def test_two_tabs_refreshing_at_once_both_succeed(live_server):
    """Real concurrent requests on two gunicorn workers: the row lock serialises them and both
    callers end up with the same valid pair; the session survives."""
    server = live_server(workers=2, REFRESH_REUSE_GRACE_SECONDS="30")
    base = f"{server.url}/api/v1/auth"
    close = {"Connection": "close"}
    tokens = requests.post(
        f"{base}/register",
        json={"email": "tabs@dorami.test", "password": "0123456789", "name": "Tabs"},
        headers=close,
        timeout=10,
    ).json()["data"]
    barrier = threading.Barrier(4)
    results = []

    def tab():
        barrier.wait(timeout=10)
        results.append(
            requests.post(f"{base}/refresh", json={"refreshToken": tokens["refreshToken"]}, headers=close, timeout=15)
        )

    threads = [threading.Thread(target=tab) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert [r.status_code for r in results] == [200] * 4, [r.text for r in results]
    assert len({r.json()["data"]["refreshToken"] for r in results}) == 1
    newest = results[0].json()["data"]
    me = requests.get(f"{base}/me", headers=close | auth_header(newest["accessToken"]), timeout=10)
    assert me.status_code == 200
    assert (
        requests.post(
            f"{base}/refresh", json={"refreshToken": newest["refreshToken"]}, headers=close, timeout=10
        ).status_code
        == 200
    )


def test_a_browser_session_outlives_its_short_access_token(make_app):
    client = make_app(JWT_EXPIRATION="2s").test_client()
    register(client)
    assert client.get("/api/v1/auth/me").status_code == 200
    time.sleep(2.2)
    # The cookie's Max-Age (the token's lifetime) has passed as well: refresh, then carry on.
    assert client.get("/api/v1/auth/me").status_code == 401
    assert _refresh(client, headers=csrf_headers(client)).status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 200


def test_an_expired_access_token_is_401_token_expired(make_app):
    # A token's exp is whole seconds (iat + lifetime, truncated): a 1 s token may live only a few
    # milliseconds, too short for the renewed one to be used under load. 3 s lives at least 2 s.
    client = make_app(JWT_EXPIRATION="3s").test_client(use_cookies=False)
    tokens = register(client)
    time.sleep(3.2)
    response = client.get("/api/v1/auth/me", headers=auth_header(tokens["accessToken"]))
    assert (response.status_code, response.get_json()["errorCode"]) == (401, "TOKEN_EXPIRED")
    renewed = _refresh(client, tokens["refreshToken"]).get_json()["data"]
    assert client.get("/api/v1/auth/me", headers=auth_header(renewed["accessToken"])).status_code == 200
