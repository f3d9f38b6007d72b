"""/api/v1/auctions (admin: create, start, cancel; signed-in users: bid; everyone: read) and a
stream's auctions at /api/v1/streaming/streams/{id}/auctions, served here so that the streaming
domain knows nothing of auctions."""

from __future__ import annotations

import uuid

from flask import Blueprint

from dorami_api.auctions import service
from dorami_api.auctions.schemas import (
    AuctionCreate,
    AuctionDetailOut,
    AuctionOut,
    BidAnswer,
    BidIn,
    StreamAuctionsOut,
)
from dorami_api.auctions.serializers import auction_detail_json, auction_json
from dorami_api.auth.guards import admin_required, current_user_id, login_required
from dorami_api.web.rate_limits import limiter
from dorami_api.web.responses import created, ok
from dorami_api.web.validation import body, documented

bp = Blueprint("auctions", __name__)
TAGS = ("auctions",)
# Bids per user, on top of the default tiers (the socket face has the same limit).
BID_LIMIT = "100 per 10 seconds"


@bp.post("/auctions")
@admin_required
@body(AuctionCreate)
@documented(
    "Put a product (or variant) of a live stream up for auction: SCHEDULED, its units held out of stock",
    response=AuctionOut,
    status=201,
    errors=(400, 403, 404, 409),
    tags=TAGS,
)
def create(body: AuctionCreate):
    new = service.NewAuction(
        product_id=body.productId,
        variant_id=body.variantId,
        quantity=body.quantity,
        starting_price=body.startingPrice,
        increment=body.increment,
        duration_seconds=body.durationSeconds,
        anti_snipe_seconds=body.antiSnipeSeconds,
        mode=body.mode,
    )
    return created(auction_json(service.create(current_user_id(), new)))


@bp.post("/auctions/<uuid:auction_id>/start")
@admin_required
@documented(
    "Start the countdown: RUNNING, endsAt = now + durationSeconds (server clock)",
    response=AuctionOut,
    errors=(403, 404, 409),
    tags=TAGS,
)
def start(auction_id: uuid.UUID):
    return ok(auction_json(service.start(auction_id)))


@bp.post("/auctions/<uuid:auction_id>/cancel")
@admin_required
@documented(
    "Cancel a scheduled or running auction: its units return to stock and the waitlist",
    response=AuctionOut,
    errors=(403, 404, 409),
    tags=TAGS,
)
def cancel(auction_id: uuid.UUID):
    return ok(auction_json(service.cancel(auction_id)))


@bp.post("/auctions/<uuid:auction_id>/bids")
@login_required
@limiter.limit(BID_LIMIT, scope="auction-bids")
@body(BidIn)
@documented(
    "Bid (the same bidId always gets the same answer); maxAmount makes it a proxy bid",
    response=BidAnswer,
    errors=(400, 403, 404, 409, 429),
    tags=TAGS,
    description=(
        "Refusals: 409 AUCTION_NOT_RUNNING, BID_TOO_LOW (details.minimumBid), ALREADY_LEADING; "
        "403 PROFILE_INCOMPLETE, ACCOUNT_SUSPENDED. The same bid over the socket: `auction:bid` on `/`."
    ),
)
def bid(auction_id: uuid.UUID, body: BidIn):
    answer = service.place_bid(service.Bid(auction_id, current_user_id(), body.amount, body.bidId, body.maxAmount))
    return ok(answer)


@bp.get("/auctions/<uuid:auction_id>")
@documented(
    "An auction: its state and the last 20 bids (display names and amounts only)",
    response=AuctionDetailOut,
    errors=(404,),
    tags=TAGS,
)
def detail(auction_id: uuid.UUID):
    return ok(auction_detail_json(service.get(auction_id)))


@bp.get("/streaming/streams/<uuid:stream_id>/auctions")
@documented("A stream's auctions, newest first (at most 100)", response=StreamAuctionsOut, tags=("streaming", *TAGS))
def of_stream(stream_id: uuid.UUID):
    return ok([auction_json(auction) for auction in service.of_stream(stream_id)])
