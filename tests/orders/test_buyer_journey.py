"""The whole journey a buyer makes, through the public routes only: register, fill
in the profile, hold in the cart, order, see the bank-transfer instructions, get paid and shipped
by an admin. Cookie-authenticated, so the CSRF token travels too."""

from __future__ import annotations

from tests.support.auth import signed_in
from tests.support.commerce import live_stream, make_product


def test_register_profile_cart_order_pay_ship(app, client):
    stream_id, _ = live_stream(app, mode="THRESHOLD", threshold="50.00")
    product_id = make_product(app, stock=3, price="30.00", stream_id=stream_id, name="Linen shirt")
    registered = client.post(
        "/api/v1/auth/register",
        json={"email": "journey@dorami.test", "password": "correct horse battery", "name": "Jin Park"},
    )
    assert registered.status_code == 201, registered.get_json()
    client.get("/api/v1/auth/csrf")
    csrf = {"X-CSRF-Token": client.get_cookie("csrf-token").value}

    early = client.post("/api/v1/orders/direct", json={"items": [{"productId": str(product_id), "quantity": 1}]},
                        headers=csrf)  # fmt: skip
    assert early.status_code == 403 and early.get_json()["errorCode"] == "PROFILE_INCOMPLETE"

    assert client.patch("/api/v1/users/me", json={"depositorName": "JIN PARK"}, headers=csrf).status_code == 200
    address = {"fullName": "Jin Park", "address1": "9 Pine St", "city": "Seattle", "state": "WA", "zip": "98101"}
    assert client.put("/api/v1/users/me/shipping-address", json=address, headers=csrf).status_code == 200

    line = client.post("/api/v1/cart", json={"productId": str(product_id), "quantity": 2}, headers=csrf)
    assert line.status_code == 201
    cart = client.get("/api/v1/cart").get_json()["data"]
    assert (cart["subtotal"], cart["shippingFee"], cart["total"]) == ("60.00", "0.00", "60.00")  # threshold met

    order = client.post("/api/v1/orders", headers={**csrf, "Idempotency-Key": "journey-1"}).get_json()["data"]
    assert order["shippingAddress"]["city"] == "Seattle" and order["depositorName"] == "JIN PARK"
    assert order["bankTransfer"]["amount"] == "60.00"

    boss = signed_in(app, role="ADMIN").headers
    admin_client = app.test_client()
    assert admin_client.post(f"/api/v1/admin/orders/{order['id']}/confirm-payment", headers=boss).status_code == 200
    shipped = admin_client.post(
        f"/api/v1/admin/orders/{order['id']}/ship", json={"trackingNumber": "9400 1000"}, headers=boss
    )
    assert shipped.status_code == 200
    mine = client.get(f"/api/v1/orders/{order['id']}").get_json()["data"]
    assert (mine["status"], mine["trackingNumber"], mine["bankTransfer"]) == ("SHIPPED", "9400 1000", None)
