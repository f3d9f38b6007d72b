"""Admin user management: list, detail with the decrypted address, suspension."""

from __future__ import annotations

import uuid

from tests.support.auth import create_user, signed_in

ADDRESS = {"fullName": "Dora Kim", "address1": "1 Main St", "city": "Austin", "state": "TX", "zip": "73301"}


def test_list_search_filter_and_paginate(app):
    client = app.test_client(use_cookies=False)
    _, admin = signed_in(app, role="ADMIN", name="Admin")
    for n in range(5):
        create_user(app, email=f"buyer{n}@dorami.test", name=f"Buyer {n}")
    create_user(app, email="banned@dorami.test", name="Banned", status="SUSPENDED", instagram_id="@banned_one")

    page = client.get("/api/v1/admin/users?limit=2&page=2", headers=admin).get_json()["data"]
    assert (page["page"], page["limit"], page["total"], page["totalPages"], len(page["items"])) == (2, 2, 7, 4, 2)
    found = client.get("/api/v1/admin/users?search=buyer3", headers=admin).get_json()["data"]
    assert [u["email"] for u in found["items"]] == ["buyer3@dorami.test"]
    by_handle = client.get("/api/v1/admin/users?search=banned_", headers=admin).get_json()["data"]
    assert [u["email"] for u in by_handle["items"]] == ["banned@dorami.test"]
    suspended = client.get("/api/v1/admin/users?status=SUSPENDED", headers=admin).get_json()["data"]
    assert [u["email"] for u in suspended["items"]] == ["banned@dorami.test"]
    assert client.get("/api/v1/admin/users?limit=1000", headers=admin).status_code == 400
    assert client.get("/api/v1/admin/users?status=GONE", headers=admin).status_code == 400


def test_detail_shows_the_decrypted_address_to_admins(app):
    client = app.test_client(use_cookies=False)
    _, admin = signed_in(app, role="ADMIN")
    user, headers = signed_in(app)
    client.put("/api/v1/users/me/shipping-address", json=ADDRESS, headers=headers)
    detail = client.get(f"/api/v1/admin/users/{user.id}", headers=admin)
    assert detail.status_code == 200
    assert detail.get_json()["data"]["shippingAddress"] == {**ADDRESS, "address2": None}
    assert client.get(f"/api/v1/admin/users/{uuid.uuid4()}", headers=admin).get_json()["errorCode"] == "USER_NOT_FOUND"
    assert client.get("/api/v1/admin/users/not-a-uuid", headers=admin).status_code == 404


def test_status_changes(app):
    client = app.test_client(use_cookies=False)
    admin_user, admin = signed_in(app, role="ADMIN")
    user, headers = signed_in(app)
    suspended = client.patch(
        f"/api/v1/admin/users/{user.id}/status", json={"status": "SUSPENDED", "reason": "chargebacks"}, headers=admin
    ).get_json()["data"]
    assert (
        suspended["status"] == "SUSPENDED"
        and suspended["suspensionReason"] == "chargebacks"
        and suspended["suspendedAt"]
    )
    refused = client.get("/api/v1/users/me", headers=headers)
    assert refused.status_code == 401 and refused.get_json()["errorCode"] in ("ACCOUNT_SUSPENDED", "TOKEN_REVOKED")
    active = client.patch(f"/api/v1/admin/users/{user.id}/status", json={"status": "ACTIVE"}, headers=admin)
    assert active.get_json()["data"]["suspendedAt"] is None
    self_ban = client.patch(f"/api/v1/admin/users/{admin_user.id}/status", json={"status": "SUSPENDED"}, headers=admin)
    assert (self_ban.status_code, self_ban.get_json()["errorCode"]) == (409, "CANNOT_SUSPEND_SELF")
    bad = client.patch(f"/api/v1/admin/users/{user.id}/status", json={"status": "DELETED"}, headers=admin)
    assert bad.status_code == 400
    _, other = signed_in(app)
    not_admin = client.patch(f"/api/v1/admin/users/{user.id}/status", json={"status": "SUSPENDED"}, headers=other)
    assert not_admin.status_code == 403
