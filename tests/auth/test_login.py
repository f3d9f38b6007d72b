"""Registration, password login, dev login: uniform failures, suspension."""

from __future__ import annotations

from dorami_api.extensions import db
from dorami_api.users.models import User
from tests.support.auth import PASSWORD, auth_header, create_user, register


def _login(client, email, password=PASSWORD, **kwargs):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password}, **kwargs)


def test_registration_validates_and_refuses_a_taken_email(app):
    client = app.test_client(use_cookies=False)
    short = client.post("/api/v1/auth/register", json={"email": "a@dorami.test", "password": "short", "name": "A"})
    assert (short.status_code, short.get_json()["errorCode"]) == (400, "VALIDATION_ERROR")
    bad_email = client.post("/api/v1/auth/register", json={"email": "nope", "password": PASSWORD, "name": "A"})
    assert bad_email.status_code == 400
    extra = client.post(
        "/api/v1/auth/register", json={"email": "a@dorami.test", "password": PASSWORD, "name": "A", "role": "ADMIN"}
    )
    assert extra.status_code == 400
    register(client, "Mixed.Case@Dorami.test")
    taken = client.post(
        "/api/v1/auth/register", json={"email": "mixed.case@dorami.test", "password": PASSWORD, "name": "B"}
    )
    assert (taken.status_code, taken.get_json()["errorCode"]) == (409, "EMAIL_ALREADY_REGISTERED")


def test_passwords_are_stored_only_as_argon2_hashes(app):
    client = app.test_client(use_cookies=False)
    user = register(client)["user"]
    with app.app_context():
        stored = db.session.get(User, __import__("uuid").UUID(user["id"])).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_login_failures_are_uniform(app):
    client = app.test_client(use_cookies=False)
    create_user(app, email="known@dorami.test", password=PASSWORD)
    create_user(app, email="kakao-only@dorami.test")  # no password at all
    answers = [
        _login(client, "known@dorami.test", "wrong password!"),
        _login(client, "unknown@dorami.test"),
        _login(client, "kakao-only@dorami.test"),
    ]
    bodies = {(r.status_code, r.get_json()["errorCode"], r.get_json()["message"]) for r in answers}
    assert bodies == {(401, "INVALID_CREDENTIALS", "Email or password is incorrect")}
    assert all("Set-Cookie" not in r.headers or "accessToken" not in r.headers["Set-Cookie"] for r in answers)
    ok = _login(client, "KNOWN@dorami.test")
    assert ok.status_code == 200 and ok.get_json()["data"]["user"]["email"] == "known@dorami.test"


def test_a_suspended_account_cannot_sign_in(app):
    create_user(app, email="gone@dorami.test", password=PASSWORD, status="SUSPENDED")
    response = _login(app.test_client(use_cookies=False), "gone@dorami.test")
    assert (response.status_code, response.get_json()["errorCode"]) == (403, "ACCOUNT_SUSPENDED")


def test_dev_login_only_when_enabled_and_from_loopback(make_app):
    disabled = make_app().test_client(use_cookies=False)
    assert disabled.post("/api/v1/auth/dev-login", json={"email": "dev@dorami.test"}).status_code == 404

    client = make_app(ENABLE_DEV_AUTH="true").test_client(use_cookies=False)
    response = client.post("/api/v1/auth/dev-login", json={"email": "dev@dorami.test", "name": "Dev"})
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["user"]["name"] == "Dev" and data["refreshToken"]
    assert client.get("/api/v1/auth/me", headers=auth_header(data["accessToken"])).status_code == 200
    admin = client.post("/api/v1/auth/dev-login", json={"email": "admin@dorami.test"})
    assert admin.get_json()["data"]["user"]["role"] == "ADMIN"

    remote = client.post(
        "/api/v1/auth/dev-login", json={"email": "dev@dorami.test"}, environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    assert remote.status_code == 404
    proxied = client.post(
        "/api/v1/auth/dev-login", json={"email": "dev@dorami.test"}, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert proxied.status_code == 404


def test_dev_login_is_refused_in_production_configuration():
    import pytest

    from dorami_api.config import Config, ConfigError

    with pytest.raises(ConfigError, match="ENABLE_DEV_AUTH"):
        Config.from_env(
            {
                "APP_ENV": "production",
                "DATABASE_URL": "postgresql://u@127.0.0.1/d",
                "REDIS_URL": "redis://127.0.0.1:6379/0",
                "JWT_SECRET": "x" * 32,
                "CORS_ORIGINS": "https://dorami.example",
                "PROFILE_ENCRYPTION_KEY": "00" * 32,
                "ENABLE_DEV_AUTH": "true",
            }
        )
