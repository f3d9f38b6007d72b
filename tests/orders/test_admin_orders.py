"""The admin's order list, filters and CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import sqlalchemy as sa

from dorami_api.db.types import utcnow
from dorami_api.extensions import db
from dorami_api.orders.models import Order
from tests.orders.helpers import ADMIN_ORDERS, buy, placed
from tests.support.auth import signed_in
from tests.support.commerce import live_stream, make_product


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["data"]["items"]]


def test_filters_and_pagination(app, client):
    boss = signed_in(app, role="ADMIN").headers
    stream_id, _ = live_stream(app)
    live = make_product(app, stock=20, stream_id=stream_id)
    store = make_product(app, stock=20)
    alice_user, alice = signed_in(app, profile=True, instagram_id="@alice_k")
    _, bob = signed_in(app, profile=True, depositor_name="BOB LEE")
    a1 = placed(buy(client, alice, (live, 1)))["id"]
    a2 = placed(buy(client, alice, (store, 1)))["id"]
    b1 = placed(buy(client, bob, (live, 1)))["id"]
    client.post(f"{ADMIN_ORDERS}/{a2}/confirm-payment", headers=boss)
    with app.app_context():  # a1 was placed three days ago
        db.session.execute(sa.update(Order).where(Order.id == a1).values(created_at=utcnow() - timedelta(days=3)))
        db.session.commit()

    assert _ids(client.get(ADMIN_ORDERS, headers=boss)) == [b1, a2, a1]
    assert _ids(client.get(f"{ADMIN_ORDERS}?status=PAID", headers=boss)) == [a2]
    assert _ids(client.get(f"{ADMIN_ORDERS}?userId={alice_user.id}", headers=boss)) == [a2, a1]
    assert _ids(client.get(f"{ADMIN_ORDERS}?streamId={stream_id}", headers=boss)) == [b1, a1]
    assert _ids(client.get(f"{ADMIN_ORDERS}?search=bob%20l", headers=boss)) == [b1]
    assert _ids(client.get(f"{ADMIN_ORDERS}?search=@ALICE", headers=boss)) == [a2, a1]
    assert _ids(client.get(f"{ADMIN_ORDERS}?search={a1}", headers=boss)) == [a1]
    assert _ids(client.get(f"{ADMIN_ORDERS}?search=%25", headers=boss)) == []  # a literal %, not a wildcard
    today = utcnow().date()
    assert _ids(client.get(f"{ADMIN_ORDERS}?dateFrom={today}", headers=boss)) == [b1, a2]
    assert _ids(client.get(f"{ADMIN_ORDERS}?dateTo={today - timedelta(days=1)}", headers=boss)) == [a1]

    page = client.get(f"{ADMIN_ORDERS}?page=2&limit=2", headers=boss).get_json()["data"]
    assert ([item["id"] for item in page["items"]], page["total"], page["totalPages"]) == ([a1], 3, 2)
    assert client.get(f"{ADMIN_ORDERS}?limit=1000", headers=boss).status_code == 400

    detail = client.get(f"{ADMIN_ORDERS}/{a1}", headers=boss).get_json()["data"]
    assert detail["userEmail"] == alice_user.email and detail["shippingAddress"]["zip"] == "94105"
    assert client.get(f"{ADMIN_ORDERS}/ORD-20990101-00001", headers=boss).status_code == 404


def test_csv_export_is_safe_to_open_in_a_spreadsheet(app, client):
    boss = signed_in(app, role="ADMIN").headers
    product_id = make_product(app, stock=5, price="9.90", name='=HYPERLINK("http://evil")')
    _, alice = signed_in(app, profile=True, depositor_name="@SUM(1+1)")
    order = placed(buy(client, alice, (product_id, 2)))
    placed(buy(client, alice, (product_id, 1)))

    response = client.get(f"{ADMIN_ORDERS}/export.csv?status=PENDING_PAYMENT", headers=boss)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["orderId"] for row in rows][0] == order["id"] and len(rows) == 2
    first = rows[0]
    assert first["depositorName"] == "'@SUM(1+1)"
    assert first["items"].startswith("'=HYPERLINK")
    assert (first["subtotal"], first["shippingFee"], first["total"]) == ("19.80", "10.00", "29.80")
    assert first["city"] == "San Francisco"

    none = client.get(f"{ADMIN_ORDERS}/export.csv?status=DELIVERED", headers=boss)
    assert len(list(csv.DictReader(io.StringIO(none.get_data(as_text=True))))) == 0
