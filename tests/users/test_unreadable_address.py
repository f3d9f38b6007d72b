"""An address whose key was dropped from the rotation list is a clear 409, never a 500."""

from __future__ import annotations

import base64

from dorami_api.extensions import db
from dorami_api.users.crypto import encrypt_address
from dorami_api.users.models import User
from tests.support.auth import create_user, signed_in

LOST_KEY = base64.b64encode(b"l" * 32).decode()
ADDRESS = {"fullName": "Dora Kim", "address1": "1 Main St", "city": "Austin", "state": "TX", "zip": "73301"}


def test_an_unreadable_address_asks_the_owner_to_enter_it_again(make_app):
    old = make_app(PROFILE_ENCRYPTION_KEY=LOST_KEY, PROFILE_ENCRYPTION_KEY_VERSION="v0")
    user = create_user(old, depositor_name="Dora")
    with old.app_context():
        db.session.get(User, user.id).shipping_address_enc = encrypt_address(ADDRESS, str(user.id))
        db.session.commit()
    app = make_app()  # the current key only: v0 was never listed as a legacy key
    client = app.test_client()
    headers = signed_in(app, user=user).headers
    response = client.get("/api/v1/users/me/shipping-address", headers=headers)
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["errorCode"] == "ADDRESS_UNREADABLE"
    new_address = {**ADDRESS, "address1": "2 Main St"}
    assert client.put("/api/v1/users/me/shipping-address", json=new_address, headers=headers).status_code == 200
    assert client.get("/api/v1/users/me/shipping-address", headers=headers).get_json()["data"]["address1"] == (
        "2 Main St"
    )
