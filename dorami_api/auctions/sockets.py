"""`auction:bid` on `/` (with an acknowledgement): the socket face of a bid, beside the service it
calls — the same function as `POST /auctions/{id}/bids`, so both faces give the same answers.
Refusals come back as {success: false, errorCode, message, details?}; a bid over the limit (100
per 10 s per user, counted in Redis for every process) is dropped with RATE_LIMIT_EXCEEDED and
`retryAfter`. A chat ban does not stop bidding: it is not a sales ban."""

from __future__ import annotations

import uuid

from dorami_api.auctions import service
from dorami_api.auctions.schemas import AuctionBidSocket
from dorami_api.errors import ApiError
from dorami_api.realtime.broadcast import ROOT
from dorami_api.realtime.connections import SocketClient
from dorami_api.realtime.replies import SocketError, socket_event
from dorami_api.realtime.socket_limits import Limit
from dorami_api.web.validation import parse_model

BIDS = Limit("auction-bid", 100, 10)


@socket_event(ROOT, "auction:bid", BIDS)
def bid(client: SocketClient, payload: dict) -> dict:
    try:
        body = parse_model(AuctionBidSocket, payload)
        wanted = service.Bid(body.auctionId, uuid.UUID(client.user_id), body.amount, body.bidId, body.maxAmount)
        return service.place_bid(wanted)
    except ApiError as error:
        extra = {"details": error.details} if error.details else {}
        raise SocketError(error.code, error.message, **extra) from None
