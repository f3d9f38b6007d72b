"""CSRF: cookie-authenticated unsafe requests need X-CSRF-Token equal to the csrf-token
cookie; Bearer requests and credential-less requests do not."""

from __future__ import annotations

from tests.support.auth import PASSWORD, auth_header, csrf_headers, register

PATCH = {"name": "Renamed"}


def test_a_cookie_client_needs_the_csrf_header(app):
    browser = app.test_client()
    register(browser)  # the response set the HttpOnly auth cookies
    missing = browser.patch("/api/v1/users/me", json=PATCH)
    assert (missing.status_code, missing.get_json()["errorCode"]) == (403, "CSRF_TOKEN_MISSING")

    headers = csrf_headers(browser)
    wrong = browser.patch("/api/v1/users/me", json=PATCH, headers={"X-CSRF-Token": headers["X-CSRF-Token"] + "x"})
    assert (wrong.status_code, wrong.get_json()["errorCode"]) == (403, "CSRF_TOKEN_INVALID")

    accepted = browser.patch("/api/v1/users/me", json=PATCH, headers=headers)
    assert accepted.status_code == 200 and accepted.get_json()["data"]["name"] == "Renamed"


def test_a_forged_cookie_pair_is_invalid(app):
    """Header and cookie agree but were not issued by this server (or not to this browser)."""
    browser = app.test_client()
    register(browser)
    browser.set_cookie("csrf-token", "attacker-chosen")
    forged = browser.patch("/api/v1/users/me", json=PATCH, headers={"X-CSRF-Token": "attacker-chosen"})
    assert (forged.status_code, forged.get_json()["errorCode"]) == (403, "CSRF_TOKEN_INVALID")

    other_browser = app.test_client()
    stolen = csrf_headers(other_browser)  # valid token, but bound to another browser's session
    browser.set_cookie("csrf-token", stolen["X-CSRF-Token"])
    replayed = browser.patch("/api/v1/users/me", json=PATCH, headers=stolen)
    assert (replayed.status_code, replayed.get_json()["errorCode"]) == (403, "CSRF_TOKEN_INVALID")


def test_the_csrf_cookie_is_set_on_any_get_and_readable_by_scripts(app):
    browser = app.test_client()
    response = browser.get("/api/v1/auth/csrf")
    cookies = response.headers.getlist("Set-Cookie")
    csrf_cookie = next(c for c in cookies if c.startswith("csrf-token="))
    assert "HttpOnly" not in csrf_cookie and "SameSite=Lax" in csrf_cookie
    assert response.get_json()["data"]["csrfToken"] == browser.get_cookie("csrf-token").value
    # Kept stable while valid: tabs that read it earlier keep working.
    browser.get("/api/v1/users/me")
    assert browser.get_cookie("csrf-token").value == response.get_json()["data"]["csrfToken"]
    fresh = app.test_client()
    fresh.get("/api/v1/users/me")  # any GET, even a 401 one
    assert fresh.get_cookie("csrf-token") is not None


def test_a_bearer_client_is_not_handed_a_csrf_cookie(app):
    native = app.test_client(use_cookies=False)
    tokens = register(native)
    response = native.get("/api/v1/users/me", headers=auth_header(tokens["accessToken"]))
    assert response.status_code == 200
    assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith("csrf-token=")]


def test_bearer_clients_are_exempt(app):
    native = app.test_client(use_cookies=False)
    tokens = register(native)
    response = native.patch("/api/v1/users/me", json=PATCH, headers=auth_header(tokens["accessToken"]))
    assert response.status_code == 200
    # Even when the client also holds cookies, the Authorization header is the one mechanism.
    browser = app.test_client()
    tokens = register(browser)
    assert browser.patch("/api/v1/users/me", json=PATCH, headers=auth_header(tokens["accessToken"])).status_code == 200


def test_login_without_credentials_needs_no_token_but_cookie_refresh_and_logout_do(app):
    native = app.test_client(use_cookies=False)
    email = register(native)["user"]["email"]
    assert native.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200

    browser = app.test_client()
    assert browser.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 200
    assert browser.post("/api/v1/auth/refresh").get_json()["errorCode"] == "CSRF_TOKEN_MISSING"
    assert browser.post("/api/v1/auth/logout").get_json()["errorCode"] == "CSRF_TOKEN_MISSING"
    assert browser.post("/api/v1/auth/logout", headers=csrf_headers(browser)).status_code == 200


def test_csrf_can_be_switched_off_outside_production(make_app):
    browser = make_app(CSRF_ENABLED="false").test_client()
    register(browser)
    assert browser.patch("/api/v1/users/me", json=PATCH).status_code == 200


def test_a_non_ascii_csrf_header_is_an_invalid_token_not_a_server_error(app):
    browser = app.test_client()
    register(browser)
    csrf_headers(browser)
    for header in ("tökén", "\u00ff" * 40, "é"):
        refused = browser.patch(
            "/api/v1/users/me", json=PATCH, headers={"X-CSRF-Token": header.encode().decode("latin-1")}
        )
        assert (refused.status_code, refused.get_json()["errorCode"]) == (403, "CSRF_TOKEN_INVALID"), header
    browser.set_cookie("csrf-token", "t\u00f6ken")
    refused = browser.patch("/api/v1/users/me", json=PATCH, headers={"X-CSRF-Token": "token"})
    assert (refused.status_code, refused.get_json()["errorCode"]) == (403, "CSRF_TOKEN_INVALID")


def test_refresh_from_the_cookie_needs_the_csrf_header_even_with_an_authorization_header(app):
    browser = app.test_client()
    tokens = register(browser)
    # A page that can add any header (a forged form cannot, but a careless proxy or a script on
    # another origin with a leaked access token might) still cannot make the browser's refresh
    # cookie rotate without the CSRF token.
    for authorization in (auth_header(tokens["accessToken"]), {"Authorization": "Basic eDp5"}):
        refused = browser.post("/api/v1/auth/refresh", headers=authorization)
        assert (refused.status_code, refused.get_json()["errorCode"]) == (403, "CSRF_TOKEN_MISSING"), authorization
    rotated = browser.post("/api/v1/auth/refresh", headers=csrf_headers(browser))
    assert rotated.status_code == 200

    # The refresh token in the body is not a cookie credential: no CSRF token needed.
    native = app.test_client()
    body_tokens = register(native)
    in_body = native.post("/api/v1/auth/refresh", json={"refreshToken": body_tokens["refreshToken"]})
    assert in_body.status_code == 200 and in_body.get_json()["data"]["refreshToken"] != body_tokens["refreshToken"]
    empty = native.post("/api/v1/auth/refresh", json={"refreshToken": ""}, headers=csrf_headers(native))
    assert (empty.status_code, empty.get_json()["errorCode"]) == (400, "VALIDATION_ERROR")
    assert native.post("/api/v1/auth/refresh", json={"refreshToken": "  "}).get_json()["errorCode"] == (
        "CSRF_TOKEN_MISSING"
    )


def test_a_csrf_pair_signed_with_another_secret_is_invalid(make_app):
    """The session cookie that binds the token is signed with the app's own secret: a pair that an
    app with another secret issued (valid there) is refused here."""
    ours = make_app()
    theirs = make_app(JWT_SECRET="another-secret-that-is-long-enough-for-hs256-987654")
    elsewhere = theirs.test_client()
    foreign = csrf_headers(elsewhere)

    browser = ours.test_client()
    register(browser)
    browser.set_cookie("dorami-session", elsewhere.get_cookie("dorami-session").value)
    browser.set_cookie("csrf-token", foreign["X-CSRF-Token"])
    refused = browser.patch("/api/v1/users/me", json=PATCH, headers=foreign)
    assert (refused.status_code, refused.get_json()["errorCode"]) == (403, "CSRF_TOKEN_INVALID")

    accepted = browser.patch("/api/v1/users/me", json=PATCH, headers=csrf_headers(browser))
    assert accepted.status_code == 200
