"""Auctions as the API shows them. Other bidders appear by display name only (never an id or an
email); every payload carries `endsAt` (absolute server time) and `serverTime`, so a client with a
skewed clock counts down `endsAt - serverTime` from when it received the payload."""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa

from dorami_api.auctions.models import Auction, AuctionBid
from dorami_api.db.types import money_str
from dorami_api.extensions import db
from dorami_api.orders.notifications import display_name
from dorami_api.orders.pricing import variant_label
from dorami_api.products.models import Product, ProductVariant
from dorami_api.streaming.models import LiveStream
from dorami_api.users.models import User
from dorami_api.web.responses import iso, now_iso

RECENT_BIDS = 20


def minimum_bid(auction: Auction) -> Decimal | None:
    """The least amount accepted now: the starting price first, then the price plus the increment."""
    if auction.status != "RUNNING":
        return None
    if auction.current_price is None:
        return auction.starting_price
    return auction.current_price + auction.increment


def _names(user_ids) -> dict[uuid.UUID, str]:
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    users = db.session.scalars(sa.select(User).where(User.id.in_(ids))).all()
    return {user.id: display_name(user) for user in users}


def _person(names: dict, user_id: uuid.UUID | None) -> dict | None:
    return None if user_id is None else {"displayName": names.get(user_id, "Someone")}


def event_json(auction: Auction) -> dict:
    """`auction:started` / `auction:updated`: the live state."""
    names = _names([auction.leader_id])
    return {
        "auctionId": str(auction.id),
        "status": auction.status,
        "currentPrice": money_str(auction.current_price),
        "minimumBid": money_str(minimum_bid(auction)),
        "leader": _person(names, auction.leader_id),
        "bidCount": auction.bid_count,
        "endsAt": iso(auction.ends_at),
        "version": auction.version,
        "serverTime": now_iso(),
    }


def ended_json(auction: Auction) -> dict:
    names = _names([auction.winner_id])
    return {
        "auctionId": str(auction.id),
        "status": auction.status,
        "finalPrice": money_str(auction.final_price),
        "winner": _person(names, auction.winner_id),
        "bidCount": auction.bid_count,
        "endsAt": iso(auction.ends_at),
        "version": auction.version,
        "serverTime": now_iso(),
    }


def auction_json(auction: Auction, names: dict | None = None) -> dict:
    product = db.session.get(Product, auction.product_id)
    variant = db.session.get(ProductVariant, auction.variant_id) if auction.variant_id else None
    stream = db.session.get(LiveStream, auction.stream_id)
    names = names if names is not None else _names([auction.leader_id, auction.winner_id])
    return {
        "id": str(auction.id),
        "productId": str(auction.product_id),
        "variantId": str(auction.variant_id) if auction.variant_id else None,
        "streamId": str(auction.stream_id),
        "streamKey": stream.stream_key if stream else None,
        "productName": product.name if product else "",
        "variantLabel": variant_label(variant),
        "quantity": auction.quantity,
        "startingPrice": money_str(auction.starting_price),
        "increment": money_str(auction.increment),
        "durationSeconds": auction.duration_seconds,
        "antiSnipeSeconds": auction.anti_snipe_seconds,
        "mode": auction.mode,
        "status": auction.status,
        "currentPrice": money_str(auction.current_price),
        "minimumBid": money_str(minimum_bid(auction)),
        "leader": _person(names, auction.leader_id),
        "bidCount": auction.bid_count,
        "version": auction.version,
        "startedAt": iso(auction.started_at),
        "endsAt": iso(auction.ends_at),
        "endedAt": iso(auction.ended_at),
        "finalPrice": money_str(auction.final_price),
        "winner": _person(names, auction.winner_id),
        "createdAt": iso(auction.created_at),
        "serverTime": now_iso(),
    }


def auction_detail_json(auction: Auction) -> dict:
    bids = db.session.scalars(
        sa.select(AuctionBid)
        .where(AuctionBid.auction_id == auction.id, AuctionBid.accepted.is_(True))
        .order_by(AuctionBid.seq.desc())
        .limit(RECENT_BIDS)
    ).all()
    names = _names([auction.leader_id, auction.winner_id, *(bid.bidder_id for bid in bids)])
    data = auction_json(auction, names)
    data["bids"] = [
        {
            "displayName": names.get(bid.bidder_id, "Someone"),
            "amount": money_str(bid.amount),
            "proxy": bid.proxy,
            "placedAt": iso(bid.created_at),
        }
        for bid in bids
    ]
    return data
