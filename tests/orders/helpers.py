from __future__ import annotations

CART = "/api/v1/cart"
ORDERS = "/api/v1/orders"
ADMIN_ORDERS = "/api/v1/admin/orders"


def add(client, headers, product_id, quantity=1, **extra):
    response = client.post(CART, json={"productId": str(product_id), "quantity": quantity, **extra}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def buy(client, headers, *items, key=None):
    """items: (product_id, quantity) or (product_id, quantity, variant_id)."""
    lines = []
    for item in items:
        line = {"productId": str(item[0]), "quantity": item[1]}
        if len(item) > 2:
            line["variantId"] = str(item[2])
        lines.append(line)
    if key:
        headers = {**headers, "Idempotency-Key": key}
    return client.post(f"{ORDERS}/direct", json={"items": lines}, headers=headers)


def placed(response) -> dict:
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]
