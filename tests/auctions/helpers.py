"""What the auction tests share: an auction on a stream's product, bids, the clock moved by
editing the row (an auction is made due by moving its end into the past), and the database's view
of the history."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from dorami_api.auctions.models import Auction, AuctionBid
from dorami_api.extensions import db
from dorami_api.orders.models import Order
from dorami_api.products.models import Product

AUCTIONS = "/api/v1/auctions"


def create_auction(client, admin_headers, product_id, **fields) -> dict:
    body = {"productId": str(product_id), "startingPrice": "10.00", "durationSeconds": 60, **fields}
    response = client.post(AUCTIONS, json=body, headers=admin_headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def start(client, admin_headers, auction_id) -> dict:
    response = client.post(f"{AUCTIONS}/{auction_id}/start", headers=admin_headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def bid(client, headers, auction_id, amount, bid_id=None, **extra):
    body = {"amount": amount, "bidId": bid_id or uuid.uuid4().hex, **extra}
    return client.post(f"{AUCTIONS}/{auction_id}/bids", json=body, headers=headers)


def accepted(response) -> dict:
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def refused(response, status: int, code: str) -> dict:
    body = response.get_json()
    assert response.status_code == status and body["errorCode"] == code, (response.status_code, body)
    return body


def make_due(app, auction_id, seconds_ago: float = 0.5) -> None:
    """Move the end into the past, as the clock would."""
    with app.app_context():
        db.session.execute(
            sa.update(Auction)
            .where(Auction.id == uuid.UUID(str(auction_id)))
            .values(ends_at=sa.func.clock_timestamp() - timedelta(seconds=seconds_ago))
        )
        db.session.commit()


def set_ends_in(app, auction_id, seconds: float) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(Auction)
            .where(Auction.id == uuid.UUID(str(auction_id)))
            .values(ends_at=sa.func.clock_timestamp() + timedelta(seconds=seconds))
        )
        db.session.commit()


def row(app, auction_id) -> Auction:
    with app.app_context():
        auction = db.session.get(Auction, uuid.UUID(str(auction_id)))
        db.session.expunge(auction)
        return auction


def history(app, auction_id) -> list[AuctionBid]:
    """Accepted bids in the order they were accepted."""
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuctionBid)
            .where(AuctionBid.auction_id == uuid.UUID(str(auction_id)), AuctionBid.accepted.is_(True))
            .order_by(AuctionBid.seq)
        ).all()
        for item in rows:
            db.session.expunge(item)
        return list(rows)


def orders_of_auction(app, auction_id) -> list[Order]:
    with app.app_context():
        orders = db.session.scalars(sa.select(Order).where(Order.idempotency_key == f"auction:{auction_id}")).all()
        for order in orders:
            db.session.expunge(order)
        return list(orders)


def stock_of(app, product_id) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Product.stock).where(Product.id == product_id))
