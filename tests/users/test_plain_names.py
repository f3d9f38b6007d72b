"""Names and addresses are plain text wherever they are written: register, dev-login,
PATCH /users/me, the shipping address (Kakao nicknames: tests/auth/test_kakao.py). Markup and
invisible characters go, control characters are a 400 VALIDATION_ERROR, and what is stored is
what other people will see."""

from __future__ import annotations

import uuid

import pytest

from dorami_api.extensions import db
from dorami_api.users.models import User
from tests.support.auth import signed_in

HOSTILE_NAME = "<img src=x onerror=alert(1)>Dora\u202e\u200b <svg/onload=alert(1)"


def _email() -> str:
    return f"{uuid.uuid4().hex[:10]}@dorami.test"


def _fields(response) -> list[str]:
    return [field["field"] for field in response.get_json()["details"]["fields"]]


def test_register_keeps_the_text_of_a_name_and_drops_its_markup(app):
    client = app.test_client(use_cookies=False)
    body = {"email": _email(), "password": "correct horse battery", "name": " <b>Dora</b> \u202eKim\u200b & co "}
    response = client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201
    assert response.get_json()["data"]["user"]["name"] == "Dora Kim & co"


@pytest.mark.parametrize(
    "name", ["Dora\nKim", "Dora\rKim", "Dora\x1b[31m", "Dora&#10;Kim", "<script>x</script>", "<img src=x>", "\u200b"]
)
def test_register_refuses_a_name_with_control_characters_or_nothing_left(app, name):
    client = app.test_client(use_cookies=False)
    response = client.post(
        "/api/v1/auth/register", json={"email": _email(), "password": "correct horse battery", "name": name}
    )
    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "VALIDATION_ERROR" and _fields(response) == ["name"]


def test_register_bounds_a_name_once_cleaned(app):
    client = app.test_client(use_cookies=False)
    password = "correct horse battery"
    long_markup = "<b>" * 80 + "D" * 100  # 340 characters typed, 100 kept
    kept = client.post("/api/v1/auth/register", json={"email": _email(), "password": password, "name": long_markup})
    assert kept.status_code == 201 and kept.get_json()["data"]["user"]["name"] == "D" * 100
    too_long = client.post("/api/v1/auth/register", json={"email": _email(), "password": password, "name": "D" * 101})
    assert too_long.status_code == 400 and _fields(too_long) == ["name"]


def test_profile_names_are_plain_text(app):
    client = app.test_client(use_cookies=False)
    user, headers = signed_in(app)
    changed = client.patch(
        "/api/v1/users/me", json={"name": HOSTILE_NAME, "depositorName": "KIM <i>DORA</i>\u2066"}, headers=headers
    )
    assert changed.status_code == 200
    data = changed.get_json()["data"]
    assert (data["name"], data["depositorName"]) == ("Dora", "KIM DORA")
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert (stored.name, stored.depositor_name) == ("Dora", "KIM DORA")
    for body in ({"name": "Dora\u0000"}, {"name": "two\nlines"}, {"depositorName": "<script>x</script>"}):
        refused = client.patch("/api/v1/users/me", json=body, headers=headers)
        assert refused.status_code == 400 and refused.get_json()["errorCode"] == "VALIDATION_ERROR", body


def test_shipping_address_lines_are_plain_text(app):
    client = app.test_client(use_cookies=False)
    _, headers = signed_in(app)
    address = {
        "fullName": "Dora <b>Kim</b>",
        "address1": "1 Main St<img src=x onerror=alert(1)>",
        "address2": "",
        "city": "Austin\u200b",
        "state": "TX",
        "zip": "73301",
    }
    saved = client.put("/api/v1/users/me/shipping-address", json=address, headers=headers)
    assert saved.status_code == 200
    assert client.get("/api/v1/users/me/shipping-address", headers=headers).get_json()["data"] == {
        "fullName": "Dora Kim",
        "address1": "1 Main St",
        "address2": None,
        "city": "Austin",
        "state": "TX",
        "zip": "73301",
    }
    refused = client.put(
        "/api/v1/users/me/shipping-address", json={**address, "address1": "1 Main St\r\nX-Forged: yes"}, headers=headers
    )
    assert refused.status_code == 400 and _fields(refused) == ["address1"]


def test_dev_login_names_are_plain_text(make_app):
    client = make_app(ENABLE_DEV_AUTH="true").test_client(use_cookies=False)
    signed_in = client.post("/api/v1/auth/dev-login", json={"email": _email(), "name": "<svg/onload=alert(1)>Dev"})
    assert signed_in.status_code == 200 and signed_in.get_json()["data"]["user"]["name"] == "Dev"
    refused = client.post("/api/v1/auth/dev-login", json={"email": _email(), "name": "Dev\u0007"})
    assert refused.status_code == 400 and _fields(refused) == ["name"]
