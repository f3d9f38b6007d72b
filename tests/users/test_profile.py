"""The caller's profile and shipping address."""

from __future__ import annotations

import uuid

from dorami_api.extensions import db
from dorami_api.users.models import User
from tests.support.auth import signed_in

ADDRESS = {
    "fullName": "Dora Kim",
    "address1": "1 Main St",
    "address2": "Apt 2",
    "city": "Austin",
    "state": "tx",
    "zip": "73301",
}


def test_profile_read_and_update(app):
    client = app.test_client(use_cookies=False)
    user, headers = signed_in(app, name="Dora")
    me = client.get("/api/v1/users/me", headers=headers).get_json()["data"]
    assert me["id"] == str(user.id) and me["profileComplete"] is False and "shippingAddress" not in me
    changed = client.patch(
        "/api/v1/users/me",
        json={"name": "Dora K", "phone": "+1 (512) 555-0100", "instagramId": "Dora.Shop", "depositorName": "KIM DORA"},
        headers=headers,
    )
    assert changed.status_code == 200
    data = changed.get_json()["data"]
    assert (data["name"], data["phone"], data["instagramId"], data["depositorName"]) == (
        "Dora K",
        "+15125550100",
        "@dora.shop",
        "KIM DORA",
    )
    cleared = client.patch("/api/v1/users/me", json={"instagramId": None}, headers=headers).get_json()["data"]
    assert cleared["instagramId"] is None and cleared["name"] == "Dora K"  # untouched fields stay


def test_profile_validation(app):
    client = app.test_client(use_cookies=False)
    _, headers = signed_in(app)
    for body in (
        {"instagramId": "no spaces allowed"},
        {"phone": "12"},
        {"name": None},
        {"name": ""},
        {"email": "x@y.z"},
    ):
        response = client.patch("/api/v1/users/me", json=body, headers=headers)
        assert (response.status_code, response.get_json()["errorCode"]) == (400, "VALIDATION_ERROR"), body


def test_instagram_ids_are_unique_whatever_the_spelling(app):
    client = app.test_client(use_cookies=False)
    _, first = signed_in(app)
    _, second = signed_in(app)
    assert client.patch("/api/v1/users/me", json={"instagramId": "@dora"}, headers=first).status_code == 200
    taken = client.patch("/api/v1/users/me", json={"instagramId": "DORA"}, headers=second)
    assert (taken.status_code, taken.get_json()["errorCode"]) == (409, "INSTAGRAM_ID_TAKEN")
    assert client.patch("/api/v1/users/me", json={"instagramId": "@dora"}, headers=first).status_code == 200  # own


def test_the_shipping_address_is_encrypted_at_rest_and_completes_the_profile(app):
    client = app.test_client(use_cookies=False)
    user, headers = signed_in(app)
    assert client.get("/api/v1/users/me/shipping-address", headers=headers).get_json()["data"] is None
    saved = client.put("/api/v1/users/me/shipping-address", json=ADDRESS, headers=headers)
    assert saved.status_code == 200
    expected = {**ADDRESS, "state": "TX"}
    assert saved.get_json()["data"] == expected
    assert client.get("/api/v1/users/me/shipping-address", headers=headers).get_json()["data"] == expected
    with app.app_context():
        stored = db.session.get(User, uuid.UUID(str(user.id))).shipping_address_enc
    assert "Main St" not in str(stored) and "Austin" not in str(stored) and stored["v"]

    assert client.get("/api/v1/users/me", headers=headers).get_json()["data"]["profileComplete"] is False
    client.patch("/api/v1/users/me", json={"depositorName": "KIM DORA"}, headers=headers)
    assert client.get("/api/v1/users/me", headers=headers).get_json()["data"]["profileComplete"] is True


def test_address_validation(app):
    client = app.test_client(use_cookies=False)
    _, headers = signed_in(app)
    for change in ({"state": "XX"}, {"state": "Texas"}, {"zip": "7330"}, {"zip": "73301-12"}, {"fullName": ""}):
        response = client.put("/api/v1/users/me/shipping-address", json={**ADDRESS, **change}, headers=headers)
        assert response.status_code == 400, change
    no_address2 = {k: v for k, v in ADDRESS.items() if k != "address2"}
    saved = client.put("/api/v1/users/me/shipping-address", json={**no_address2, "zip": "73301-1234"}, headers=headers)
    assert saved.status_code == 200 and saved.get_json()["data"]["address2"] is None


def test_another_users_data_is_never_visible(app):
    client = app.test_client(use_cookies=False)
    _, alice = signed_in(app, name="Alice")
    bob_user, bob = signed_in(app, name="Bob")
    client.put("/api/v1/users/me/shipping-address", json=ADDRESS, headers=bob)
    assert client.get("/api/v1/users/me", headers=alice).get_json()["data"]["name"] == "Alice"
    assert client.get("/api/v1/users/me/shipping-address", headers=alice).get_json()["data"] is None
    assert client.get(f"/api/v1/admin/users/{bob_user.id}", headers=alice).status_code == 403
    assert client.get("/api/v1/admin/users", headers=alice).status_code == 403
