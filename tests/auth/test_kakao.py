"""Kakao login end to end against a stand-in provider on loopback: redirect with state, code
exchange with the client credentials, profile, cookies, redirect to the frontend."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from dorami_api.extensions import db
from dorami_api.users.models import User
from tests.support.oauth_provider import StandInKakao, serve

FRONTEND = "https://shop.dorami.test"
PROFILE = {
    "id": 4242424242,
    "properties": {"nickname": "도라"},
    "kakao_account": {"profile": {"nickname": "도라"}, "phone_number": "+82 10-1234-5678"},
}


@pytest.fixture
def kakao():
    provider = StandInKakao(client_id="kakao-test-client", client_secret="kakao-test-secret", profile=dict(PROFILE))
    stop = serve(provider)
    yield provider
    stop()


@pytest.fixture
def kakao_app(make_app, kakao):
    return make_app(**kakao.settings(), FRONTEND_URL=FRONTEND)


def _sign_in(browser, **authorize_extra):
    start = browser.get("/api/v1/auth/kakao")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    if authorize_extra:
        authorize += "&" + "&".join(f"{k}={v}" for k, v in authorize_extra.items())
    consent = requests.get(authorize, allow_redirects=False, timeout=10)
    assert consent.status_code == 302
    back = urlsplit(consent.headers["Location"])
    assert back.path == "/api/v1/auth/kakao/callback"
    return browser.get(f"{back.path}?{back.query}")


def test_first_and_second_kakao_login(kakao_app, kakao):
    browser = kakao_app.test_client()
    start = browser.get("/api/v1/auth/kakao")
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert start.headers["Location"].startswith(f"{kakao.url}/oauth/authorize")
    assert query["client_id"] == ["kakao-test-client"] and query["state"][0]
    assert query["redirect_uri"] == ["http://localhost/api/v1/auth/kakao/callback"]

    finished = _sign_in(browser)
    assert finished.status_code == 302
    target = urlsplit(finished.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{FRONTEND}/auth/kakao/callback"
    assert parse_qs(target.query) == {"profileComplete": ["false"], "isNewUser": ["true"], "kakaoName": ["도라"]}
    assert kakao.token_requests[-1]["client_secret"] == "kakao-test-secret"

    me = browser.get("/api/v1/auth/me")  # the accessToken cookie set by the callback
    assert me.status_code == 200
    user = me.get_json()["data"]
    assert user["name"] == "도라" and user["kakaoLinked"] and user["phone"] == "01012345678"

    again = _sign_in(browser)
    assert parse_qs(urlsplit(again.headers["Location"]).query)["isNewUser"] == ["false"]
    assert browser.get("/api/v1/auth/me").get_json()["data"]["id"] == user["id"]
    with kakao_app.app_context():
        assert db.session.query(User).filter_by(kakao_id="4242424242").count() == 1


def test_a_forged_state_or_a_refusal_sends_the_browser_to_the_login_page(kakao_app, kakao):
    browser = kakao_app.test_client()
    browser.get("/api/v1/auth/kakao")
    forged = browser.get("/api/v1/auth/kakao/callback?code=whatever&state=forged")
    assert forged.headers["Location"] == f"{FRONTEND}/login?error=auth_failed"
    denied = _sign_in(browser, deny="1")
    assert denied.headers["Location"] == f"{FRONTEND}/login?error=auth_failed"
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_a_wrong_client_secret_fails_the_exchange(make_app, kakao):
    app = make_app(**(kakao.settings() | {"KAKAO_CLIENT_SECRET": "wrong"}), FRONTEND_URL=FRONTEND)
    browser = app.test_client()
    assert _sign_in(browser).headers["Location"] == f"{FRONTEND}/login?error=auth_failed"


def test_a_suspended_kakao_user_is_turned_away(kakao_app, kakao):
    with kakao_app.app_context():
        db.session.add(User(kakao_id="4242424242", name="도라", status="SUSPENDED"))
        db.session.commit()
    browser = kakao_app.test_client()
    assert _sign_in(browser).headers["Location"] == f"{FRONTEND}/login?error=account_suspended"


def test_kakao_routes_are_404_when_not_configured(app):
    client = app.test_client()
    assert client.get("/api/v1/auth/kakao").status_code == 404
    assert client.get("/api/v1/auth/kakao/callback?code=x&state=y").status_code == 404


def test_a_kakao_nickname_is_cleaned_never_refused(make_app):
    profile = {**PROFILE, "id": 5151515151, "properties": {"nickname": "<img src=x onerror=alert(1)>도라\u202e\n"}}
    profile["kakao_account"] = {**PROFILE["kakao_account"], "profile": profile["properties"]}
    provider = StandInKakao(client_id="kakao-test-client", client_secret="kakao-test-secret", profile=profile)
    stop = serve(provider)
    try:
        browser = make_app(**provider.settings(), FRONTEND_URL="https://shop.dorami.test").test_client()
        assert _sign_in(browser).status_code == 302
        assert browser.get("/api/v1/auth/me").get_json()["data"]["name"] == "도라"
    finally:
        stop()
