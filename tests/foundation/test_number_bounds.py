"""Every number a client sends is bounded on input: out of range is a 400 VALIDATION_ERROR, never
a database error (`bigint out of range`, integer overflow, NUMERIC overflow) answered as a 500."""

from __future__ import annotations

import pytest

from tests.support.auth import signed_in
from tests.support.commerce import live_stream, make_product

HUGE = 389239519354956206807055335424  # past any integer column
INT32_PAST = 2**31


@pytest.fixture
def world(app):
    stream_id, _ = live_stream(app)
    product_id = make_product(app, stock=0, stream_id=stream_id)
    _, buyer = signed_in(app, profile=True)
    return {
        "admin": signed_in(app, role="ADMIN").headers,
        "buyer": buyer,
        "product": str(product_id),
        "stream": str(stream_id),
    }


def _requests(world: dict) -> list[tuple[str, str, dict | None, str]]:
    product = world["product"]
    return [
        ("GET", f"/api/v1/admin/users?page={HUGE}", None, "admin"),
        ("GET", f"/api/v1/admin/users?limit={HUGE}", None, "admin"),
        ("GET", f"/api/v1/admin/orders?page={HUGE}", None, "admin"),
        ("GET", f"/api/v1/orders?page={HUGE}", None, "buyer"),
        ("GET", f"/api/v1/products?page={HUGE}", None, "buyer"),
        ("GET", f"/api/v1/products?limit={HUGE}", None, "buyer"),
        ("GET", f"/api/v1/streaming/streams/active?page={HUGE}", None, "buyer"),
        ("GET", f"/api/v1/streaming/streams?page={HUGE}", None, "admin"),
        ("POST", "/api/v1/cart", {"productId": product, "quantity": HUGE}, "buyer"),
        ("POST", "/api/v1/orders/direct", {"items": [{"productId": product, "quantity": INT32_PAST}]}, "buyer"),
        ("POST", "/api/v1/waitlist", {"productId": product, "quantity": INT32_PAST}, "buyer"),
        ("POST", "/api/v1/products", {"name": "x", "price": "1.00", "stock": INT32_PAST}, "admin"),
        ("POST", "/api/v1/products", {"name": "x", "price": "100000000.00"}, "admin"),
        ("POST", "/api/v1/products", {"name": "x", "price": 1e30}, "admin"),
        ("POST", "/api/v1/products", {"name": "x", "price": "1.00", "sortOrder": HUGE}, "admin"),
        ("POST", "/api/v1/products", {"name": "x", "price": "1.00", "holdMinutes": INT32_PAST}, "admin"),
        (
            "POST",
            "/api/v1/products",
            {"name": "x", "price": "1.00", "variants": [{"price": "1.00", "stock": INT32_PAST}]},
            "admin",
        ),
        ("PATCH", f"/api/v1/products/{product}", {"stock": INT32_PAST}, "admin"),
        ("PATCH", f"/api/v1/products/{product}", {"originalPrice": "123456789.00"}, "admin"),
        ("POST", f"/api/v1/products/{product}/stock", {"delta": INT32_PAST}, "admin"),
        ("POST", f"/api/v1/products/{product}/stock", {"delta": -HUGE}, "admin"),
        ("PUT", "/api/v1/admin/config", {"defaultShippingFee": "1000000000000"}, "admin"),
        ("PUT", "/api/v1/admin/config", {"noticeFontSize": INT32_PAST}, "admin"),
        (
            "POST",
            "/api/v1/streaming/streams",
            {"title": "t", "freeShippingMode": "THRESHOLD", "freeShippingThreshold": "1e20"},
            "admin",
        ),
    ]


def test_out_of_range_numbers_are_400_never_a_database_error(client, world):
    for method, path, body, who in _requests(world):
        response = client.open(path, method=method, json=body, headers=world[who])
        assert response.status_code == 400, (method, path, body, response.get_json())
        assert response.get_json()["errorCode"] == "VALIDATION_ERROR", (method, path, body)


def test_stock_cannot_be_raised_past_its_bound_by_adjustments(client, world):
    product = world["product"]
    adjust = f"/api/v1/products/{product}/stock"
    for _ in range(3):  # each one in range, together past the bound
        last = client.post(adjust, json={"delta": 1_000_000}, headers=world["admin"])
        if last.status_code != 200:
            break
    assert last.status_code == 400 and last.get_json()["errorCode"] == "VALIDATION_ERROR"
    assert last.get_json()["details"]["fields"][0]["field"] == "delta"
    stock = client.get(f"/api/v1/products/{product}", headers=world["admin"]).get_json()["data"]["stock"]
    assert stock == 1_000_000
