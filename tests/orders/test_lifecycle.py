"""The order lifecycle over HTTP: legal transitions only, cancellation restores stock
exactly once, buyer and admin views."""

from __future__ import annotations

import threading

from tests.orders.helpers import ADMIN_ORDERS, ORDERS, buy, placed
from tests.support.auth import signed_in
from tests.support.commerce import make_product, product_row


def test_the_full_lifecycle(app, client):
    product_id = make_product(app, stock=5)
    _, alice = signed_in(app, profile=True)
    boss = signed_in(app, role="ADMIN").headers
    order = placed(buy(client, alice, (product_id, 2)))
    path = f"{ADMIN_ORDERS}/{order['id']}"

    early = client.post(f"{path}/ship", json={"trackingNumber": "1Z999"}, headers=boss)
    assert early.status_code == 409 and early.get_json()["errorCode"] == "INVALID_ORDER_STATE"
    assert client.post(f"{path}/deliver", headers=boss).status_code == 409

    paid = client.post(f"{path}/confirm-payment", headers=boss).get_json()["data"]
    assert paid["status"] == "PAID" and paid["paidAt"] and paid["bankTransfer"] is None
    assert client.post(f"{path}/confirm-payment", headers=boss).status_code == 409
    assert client.post(f"{ORDERS}/{order['id']}/cancel", headers=alice).status_code == 409  # buyers: unpaid only

    assert client.post(f"{path}/ship", json={}, headers=boss).status_code == 400
    shipped = client.post(f"{path}/ship", json={"trackingNumber": "1Z999"}, headers=boss).get_json()["data"]
    assert shipped["status"] == "SHIPPED" and shipped["trackingNumber"] == "1Z999"
    assert client.post(f"{path}/cancel", headers=boss).status_code == 409

    delivered = client.post(f"{path}/deliver", headers=boss).get_json()["data"]
    assert delivered["status"] == "DELIVERED" and delivered["deliveredAt"]
    for action in ("confirm-payment", "deliver", "cancel"):
        assert client.post(f"{path}/{action}", headers=boss).status_code == 409
    assert product_row(app, product_id).stock == 3

    mine = client.get(f"{ORDERS}/{order['id']}", headers=alice).get_json()["data"]
    assert mine["status"] == "DELIVERED" and mine["trackingNumber"] == "1Z999"


def test_buyer_cancels_an_unpaid_order_and_the_stock_returns_once(app, client):
    product_id = make_product(app, stock=2)
    _, alice = signed_in(app, profile=True)
    order = placed(buy(client, alice, (product_id, 2)))
    assert product_row(app, product_id).status == "SOLD_OUT"

    cancelled = client.post(f"{ORDERS}/{order['id']}/cancel", json={"reason": "changed my mind"}, headers=alice)
    assert cancelled.status_code == 200
    data = cancelled.get_json()["data"]
    assert data["status"] == "CANCELLED" and data["cancelReason"] == "changed my mind" and data["cancelledAt"]
    assert product_row(app, product_id).stock == 2
    assert product_row(app, product_id).status == "AVAILABLE"

    again = client.post(f"{ORDERS}/{order['id']}/cancel", headers=alice)
    assert again.status_code == 409 and again.get_json()["errorCode"] == "INVALID_ORDER_STATE"
    assert (
        client.post(f"{ADMIN_ORDERS}/{order['id']}/cancel", headers=signed_in(app, role="ADMIN").headers).status_code
        == 409
    )
    assert product_row(app, product_id).stock == 2


def test_admin_cancels_a_paid_order(app, client):
    product_id = make_product(app, stock=3)
    _, alice = signed_in(app, profile=True)
    boss = signed_in(app, role="ADMIN").headers
    order = placed(buy(client, alice, (product_id, 1)))
    client.post(f"{ADMIN_ORDERS}/{order['id']}/confirm-payment", headers=boss)
    response = client.post(f"{ADMIN_ORDERS}/{order['id']}/cancel", json={"reason": "refunded"}, headers=boss)
    assert response.status_code == 200 and response.get_json()["data"]["status"] == "CANCELLED"
    assert product_row(app, product_id).stock == 3


def test_concurrent_cancels_restore_stock_exactly_once(app):
    product_id = make_product(app, stock=10)
    _, alice = signed_in(app, profile=True)
    boss = signed_in(app, role="ADMIN").headers
    client = app.test_client()
    order_ids = [placed(buy(client, alice, (product_id, 2)))["id"] for _ in range(3)]
    assert product_row(app, product_id).stock == 4

    results: list[int] = []
    barrier = threading.Barrier(6)

    def cancel(order_id, headers, path):
        barrier.wait()
        results.append(app.test_client().post(f"{path}/{order_id}/cancel", headers=headers).status_code)

    threads = [
        threading.Thread(target=cancel, args=(order_id, headers, path))
        for order_id in order_ids
        for headers, path in ((alice, ORDERS), (boss, ADMIN_ORDERS))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [200, 200, 200, 409, 409, 409]
    assert product_row(app, product_id).stock == 10


def test_orders_are_private_to_their_buyer(app, client):
    product_id = make_product(app, stock=5)
    _, alice = signed_in(app, profile=True)
    _, mallory = signed_in(app, profile=True)
    order = placed(buy(client, alice, (product_id, 1)))
    assert client.get(f"{ORDERS}/{order['id']}", headers=mallory).status_code == 404
    assert client.post(f"{ORDERS}/{order['id']}/cancel", headers=mallory).status_code == 404
    assert client.get(ORDERS, headers=mallory).get_json()["data"]["total"] == 0
    assert client.get(f"{ORDERS}/ORD-20990101-00001", headers=alice).status_code == 404
    for path in ("", f"/{order['id']}", "/export.csv"):
        assert client.get(f"{ADMIN_ORDERS}{path}", headers=mallory).status_code == 403
    assert client.post(f"{ADMIN_ORDERS}/{order['id']}/confirm-payment", headers=mallory).status_code == 403
    assert product_row(app, product_id).stock == 4


def test_my_orders_page_and_filter(app, client):
    product_id = make_product(app, stock=10)
    _, alice = signed_in(app, profile=True)
    ids = [placed(buy(client, alice, (product_id, 1)))["id"] for _ in range(3)]
    client.post(f"{ORDERS}/{ids[0]}/cancel", headers=alice)

    page = client.get(f"{ORDERS}?page=1&limit=2", headers=alice).get_json()["data"]
    assert (page["total"], page["totalPages"], len(page["items"])) == (3, 2, 2)
    assert [item["id"] for item in page["items"]] == [ids[2], ids[1]]
    cancelled = client.get(f"{ORDERS}?status=CANCELLED", headers=alice).get_json()["data"]
    assert [item["id"] for item in cancelled["items"]] == [ids[0]]
    assert client.get(f"{ORDERS}?status=LOST", headers=alice).status_code == 400


def test_unpaid_orders_show_bank_transfer_instructions(app, client):
    boss = signed_in(app, role="ADMIN").headers
    client.put(
        "/api/v1/admin/config",
        json={"bankName": "Dorami Bank", "bankAccountNumber": "123-456", "bankAccountHolder": "Dorami Inc"},
        headers=boss,
    )
    product_id = make_product(app, stock=5, price="12.00")
    _, alice = signed_in(app, profile=True)
    order = placed(buy(client, alice, (product_id, 1)))
    detail = client.get(f"{ORDERS}/{order['id']}", headers=alice).get_json()["data"]
    assert detail["bankTransfer"] == {
        "bankName": "Dorami Bank",
        "accountNumber": "123-456",
        "accountHolder": "Dorami Inc",
        "amount": "22.00",
        "depositorName": "DORA KIM",
    }
    client.post(f"{ADMIN_ORDERS}/{order['id']}/confirm-payment", headers=boss)
    assert client.get(f"{ORDERS}/{order['id']}", headers=alice).get_json()["data"]["bankTransfer"] is None


def test_anything_but_an_order_number_is_not_found(app, client):
    _, alice = signed_in(app, profile=True)
    boss = signed_in(app, role="ADMIN").headers
    for bad in ("%00", "ORD-1", "x" * 300, "ORD-20260101-00001%00"):
        assert client.get(f"{ORDERS}/{bad}", headers=alice).status_code == 404
        assert client.post(f"{ORDERS}/{bad}/cancel", headers=alice).status_code == 404
        assert client.get(f"{ADMIN_ORDERS}/{bad}", headers=boss).status_code == 404
        assert client.post(f"{ADMIN_ORDERS}/{bad}/confirm-payment", headers=boss).status_code == 404
