"""Security headers and CORS, on real responses."""

from __future__ import annotations

from tests.support.auth import signed_in

ALLOWED = "https://shop.dorami.test"
REFUSED = "https://evil.example"


def test_every_response_carries_the_security_headers(app):
    client = app.test_client(use_cookies=False)
    for response in (
        client.get("/api/v1/health/live"),
        client.get("/api/v1/no-such-route"),
        client.post("/api/v1/auth/login", data="x", content_type="text/plain"),
    ):
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" not in response.headers  # not outside production


def test_authenticated_responses_are_not_cached(app):
    client = app.test_client(use_cookies=False)
    _, headers = signed_in(app)
    assert client.get("/api/v1/users/me", headers=headers).headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/api/v1/health/live").headers.get("Cache-Control", "")


def test_hsts_in_production(make_app):
    app = make_app(APP_ENV="production", PROFILE_ENCRYPTION_KEY="00" * 32)
    response = app.test_client().get("/api/v1/health/live")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_preflight_from_an_allowed_origin_is_answered(app):
    client = app.test_client(use_cookies=False)
    response = client.options(
        "/api/v1/users/me",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "X-CSRF-Token, Content-Type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    allowed_headers = response.headers["Access-Control-Allow-Headers"].lower()
    assert "x-csrf-token" in allowed_headers and "content-type" in allowed_headers


def test_a_preflight_from_a_refused_origin_gets_no_cors_grant(app):
    client = app.test_client(use_cookies=False)
    response = client.options(
        "/api/v1/users/me",
        headers={"Origin": REFUSED, "Access-Control-Request-Method": "PATCH"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_actual_requests_expose_the_useful_headers_to_allowed_origins_only(make_app):
    client = make_app(RATELIMIT_ENABLED="true").test_client(use_cookies=False)
    allowed = client.get("/api/v1/auth/csrf", headers={"Origin": ALLOWED})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    exposed = allowed.headers["Access-Control-Expose-Headers"]
    for name in ("X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "Retry-After"):
        assert name in exposed
    refused = client.get("/api/v1/auth/csrf", headers={"Origin": REFUSED})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_production_cookies_are_secure(make_app):
    app = make_app(APP_ENV="production", PROFILE_ENCRYPTION_KEY="00" * 32)
    client = app.test_client(use_cookies=False)
    response = client.post(
        "/api/v1/auth/register", json={"email": "prod@dorami.test", "password": "0123456789", "name": "P"}
    )
    assert response.status_code == 201
    token_cookies = [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith(("accessToken=", "refreshToken="))
    ]
    assert len(token_cookies) == 2
    for cookie in token_cookies:
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    assert response.headers["Cache-Control"] == "no-store"
