"""Schemas of the auctions: the REST requests and responses, and the socket payloads
(`auction:bid` and its acknowledgement, every server event), so that the API documents and a
contract generator read the same models that validate the requests."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, RootModel, model_validator

from dorami_api.realtime.broadcast import ROOT
from dorami_api.realtime.catalogue import server_event
from dorami_api.web.fields import MoneyIn, MoneyOut, Timestamp
from dorami_api.web.validation import Schema

MIN_DURATION_SECONDS = 5
MAX_DURATION_SECONDS = 600
MAX_ANTI_SNIPE_SECONDS = 600
MAX_QUANTITY = 1000
BID_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"

AuctionStatus = Literal["SCHEDULED", "RUNNING", "ENDED", "CANCELLED"]
AuctionMode = Literal["STANDARD", "SUDDEN_DEATH"]


# --- requests ------------------------------------------------------------------------------------


class AuctionCreate(Schema):
    productId: uuid.UUID
    variantId: uuid.UUID | None = Field(None, description="Required when the product has variants")
    quantity: int = Field(1, ge=1, le=MAX_QUANTITY, description="Units sold together to the winner")
    startingPrice: MoneyIn = Field(description="The least first bid, per unit")
    increment: MoneyIn = Field(Decimal("1.00"), description="Every later bid is at least the current price plus this")
    durationSeconds: int = Field(ge=MIN_DURATION_SECONDS, le=MAX_DURATION_SECONDS)
    antiSnipeSeconds: int = Field(
        10,
        ge=0,
        le=MAX_ANTI_SNIPE_SECONDS,
        description="STANDARD: a bid accepted less than this before the end moves the end to now + this; 0 = off",
    )
    mode: AuctionMode = "STANDARD"

    @model_validator(mode="after")
    def _positive_increment(self) -> AuctionCreate:
        if self.increment <= 0:
            raise ValueError("increment must be more than 0")
        return self


class BidIn(Schema):
    amount: MoneyIn = Field(description="Per unit: at least startingPrice first, then currentPrice + increment")
    bidId: str = Field(
        pattern=BID_ID_PATTERN, description="The bidder's idempotency key: the same bidId gets the same answer"
    )
    maxAmount: MoneyIn | None = Field(
        None, description="A proxy bid: the server answers later bids for you by the increment, up to this"
    )

    @model_validator(mode="after")
    def _max_not_below_amount(self) -> BidIn:
        if self.maxAmount is not None and self.maxAmount < self.amount:
            raise ValueError("maxAmount must be at least amount")
        return self


class AuctionBidSocket(BidIn):
    """`auction:bid` on `/` (with an acknowledgement): a bid, and which auction."""

    auctionId: uuid.UUID


# --- responses -----------------------------------------------------------------------------------


class Person(BaseModel):
    """Another bidder as everyone sees them: a display name, never an id or an email."""

    displayName: str


class BidOut(BaseModel):
    displayName: str
    amount: MoneyOut
    proxy: bool = Field(description="Placed by the server for a proxy bid (maxAmount)")
    placedAt: Timestamp


class AuctionOut(BaseModel):
    id: str
    productId: str
    variantId: str | None
    streamId: str
    streamKey: str | None
    productName: str
    variantLabel: str | None
    quantity: int
    startingPrice: MoneyOut
    increment: MoneyOut
    durationSeconds: int
    antiSnipeSeconds: int
    mode: AuctionMode
    status: AuctionStatus
    currentPrice: MoneyOut | None
    minimumBid: MoneyOut | None = Field(description="The least amount accepted now (null when not running)")
    leader: Person | None
    bidCount: int
    version: int
    startedAt: Timestamp | None
    endsAt: Timestamp | None = Field(description="Absolute server time; remaining = endsAt - serverTime")
    endedAt: Timestamp | None
    finalPrice: MoneyOut | None
    winner: Person | None
    createdAt: Timestamp
    serverTime: Timestamp


class AuctionDetailOut(AuctionOut):
    bids: list[BidOut] = Field(description="The last 20 accepted bids, newest first")


class StreamAuctionsOut(RootModel[list[AuctionOut]]):
    """A stream's auctions, newest first."""


class BidAnswer(BaseModel):
    """What a bid is answered (REST `data`, or the acknowledgement's `data`)."""

    auctionId: str
    bidId: str
    accepted: Literal[True]
    amount: MoneyOut = Field(description="The price this bid stands at")
    leading: bool = Field(description="False when a proxy bid of the leader answered it at once")
    currentPrice: MoneyOut
    bidCount: int
    endsAt: Timestamp
    version: int
    serverTime: Timestamp


class BidAckOk(BaseModel):
    success: Literal[True]
    data: BidAnswer


class BidAckError(BaseModel):
    """Refusals: AUCTION_NOT_FOUND, AUCTION_NOT_RUNNING, BID_TOO_LOW, ALREADY_LEADING,
    PROFILE_INCOMPLETE, ACCOUNT_SUSPENDED, VALIDATION_ERROR, RATE_LIMIT_EXCEEDED."""

    success: Literal[False]
    errorCode: str
    message: str


BidAck = BidAckOk | BidAckError


# --- server events (to the stream's room `stream:{streamKey}` in `/`, or a user's room) -----------


class _Clocked(BaseModel):
    auctionId: str
    endsAt: Timestamp | None
    serverTime: Timestamp


class AuctionUpdatedEvent(_Clocked):
    """`auction:updated` (also the shape of `auction:started`): at most one per 100 ms per
    auction, always the latest state; drop one whose version is not above the last one seen."""

    status: AuctionStatus
    currentPrice: MoneyOut | None
    minimumBid: MoneyOut | None
    leader: Person | None
    bidCount: int
    version: int


class AuctionEndedEvent(_Clocked):
    """`auction:ended`: once per auction."""

    status: AuctionStatus
    finalPrice: MoneyOut | None
    winner: Person | None
    bidCount: int
    version: int


class AuctionWonEvent(BaseModel):
    """`auction:won` to the winner's room `user:{id}`: the order to pay."""

    auctionId: str
    orderId: str
    finalPrice: MoneyOut
    serverTime: Timestamp


class AuctionOutbidEvent(_Clocked):
    """`auction:outbid` to the room of the bidder who lost the lead."""

    currentPrice: MoneyOut
    minimumBid: MoneyOut


server_event(ROOT, "auction:started", AuctionUpdatedEvent, "An auction of the stream started (to the stream's room)")
server_event(ROOT, "auction:updated", AuctionUpdatedEvent, "The auction's latest state, at most every 100 ms")
server_event(ROOT, "auction:ended", AuctionEndedEvent, "The auction ended or was cancelled, once")
server_event(ROOT, "auction:won", AuctionWonEvent, "You won: the order to pay (to the winner's room)")
server_event(ROOT, "auction:outbid", AuctionOutbidEvent, "Someone bid over you (to your room)")
