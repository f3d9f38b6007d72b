"""`auction:bid` on `/` (with an acknowledgement): the socket face of a bid, beside the service it
calls — the same function as `POST /auctions/{id}/bids`, so both faces give the same answers.
Refusals come back as {success: false, errorCode, message, details?}; a bid over the limit (100
per 10 s per user, counted in Redis for every process) is dropped with RATE_LIMIT_EXCEEDED and
`retryAfter`. A chat ban does not stop bidding: it is not a sales ban."""

from __future__ import annotations

import uuid

from dorami_api.auctions import service
from dorami_api.auctions.schemas import AuctionBidSocket, BidAnswer
from dorami_api.errors import ApiError
from dorami_api.realtime.broadcast import ROOT
from dorami_api.realtime.connections import SocketClient
from dorami_api.realtime.replies import SocketError, socket_event
from dorami_api.realtime.socket_limits import Limit

BIDS = Limit("auction-bid", 100, 10)


@socket_event(
    ROOT,
    "auction:bid",
    BIDS,
    payload=AuctionBidSocket,
    ack=BidAnswer,
    summary="Bid in a running auction (the same answers as POST /auctions/{id}/bids)",
)
def bid(client: SocketClient, body: AuctionBidSocket) -> dict:
    try:
        wanted = service.Bid(body.auctionId, uuid.UUID(client.user_id), body.amount, body.bidId, body.maxAmount)
        return service.place_bid(wanted)
    except ApiError as error:
        extra = {"details": error.details} if error.details else {}
        raise SocketError(error.code, error.message, **extra) from None
