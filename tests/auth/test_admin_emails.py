"""ADMIN_EMAILS proves nothing: only the development dev-login reads it. Registering, signing in
with a password, with Kakao or refreshing with a listed address keeps the account a USER; admins
made the honest way (a role in the database) keep their role whatever their email."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from dorami_api.extensions import db
from dorami_api.users.models import User
from tests.support.auth import PASSWORD, auth_header, create_user, register
from tests.support.oauth_provider import StandInKakao, serve

LISTED = "Admin@Dorami.test"  # ADMIN_EMAILS in the test environment is admin@dorami.test
FRONTEND = "https://shop.dorami.test"


def _can_administer(client, access_token: str) -> bool:
    status = client.get("/api/v1/admin/users", headers=auth_header(access_token)).status_code
    assert status in (200, 403)
    return status == 200


def test_registering_a_listed_email_in_any_case_makes_a_user(app):
    client = app.test_client(use_cookies=False)
    for email in (LISTED, "ADMIN@DORAMI.TEST"):
        answer = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "Owner"})
        if answer.status_code == 409:  # the second spelling is the same account
            continue
        assert answer.status_code == 201
        data = answer.get_json()["data"]
        assert data["user"]["role"] == "USER"
        assert not _can_administer(client, data["accessToken"])


def test_password_login_and_refresh_with_a_listed_email_stay_user(app):
    client = app.test_client(use_cookies=False)
    register(client, "admin@dorami.test")
    for email in ("admin@dorami.test", LISTED):
        login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200
        data = login.get_json()["data"]
        assert data["user"]["role"] == "USER"
        refreshed = client.post("/api/v1/auth/refresh", json={"refreshToken": data["refreshToken"]})
        assert refreshed.status_code == 200
        assert not _can_administer(client, refreshed.get_json()["data"]["accessToken"])
    me = client.get("/api/v1/auth/me", headers=auth_header(data["accessToken"])).get_json()["data"]
    assert me["role"] == "USER"


def test_an_admin_made_in_the_database_keeps_the_role_whatever_the_email(app):
    create_user(app, email="boss@dorami.test", role="ADMIN", password=PASSWORD)
    client = app.test_client(use_cookies=False)
    login = client.post("/api/v1/auth/login", json={"email": "boss@dorami.test", "password": PASSWORD})
    data = login.get_json()["data"]
    assert data["user"]["role"] == "ADMIN" and _can_administer(client, data["accessToken"])


def test_kakao_sign_in_with_a_listed_email_stays_user(make_app):
    profile = {
        "id": 777001,
        "properties": {"nickname": "Owner"},
        "kakao_account": {
            "profile": {"nickname": "Owner"},
            "email": LISTED,
            "is_email_valid": True,
            "is_email_verified": True,
        },
    }
    kakao = StandInKakao(client_id="kakao-test-client", client_secret="kakao-test-secret", profile=profile)
    stop = serve(kakao)
    try:
        app = make_app(**kakao.settings(), FRONTEND_URL=FRONTEND)
        browser = app.test_client()
        consent = requests.get(browser.get("/api/v1/auth/kakao").headers["Location"], allow_redirects=False, timeout=10)
        back = urlsplit(consent.headers["Location"])
        finished = browser.get(f"{back.path}?{back.query}")
    finally:
        stop()
    # Admins are sent to the admin console; this account is sent where every buyer goes.
    assert urlsplit(finished.headers["Location"]).path == "/auth/kakao/callback"
    me = browser.get("/api/v1/auth/me").get_json()["data"]
    assert me["role"] == "USER"
    with app.app_context():
        assert db.session.query(User).filter_by(kakao_id="777001").one().role == "USER"


def test_dev_login_alone_reads_the_list(make_app):
    client = make_app(ENABLE_DEV_AUTH="true").test_client(use_cookies=False)
    listed = client.post("/api/v1/auth/dev-login", json={"email": LISTED}).get_json()["data"]
    assert listed["user"]["role"] == "ADMIN" and _can_administer(client, listed["accessToken"])
    other = client.post("/api/v1/auth/dev-login", json={"email": "guest@dorami.test"}).get_json()["data"]
    assert other["user"]["role"] == "USER" and not _can_administer(client, other["accessToken"])
