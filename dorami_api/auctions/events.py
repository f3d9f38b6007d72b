"""Auction broadcasts, after commit. Each reads the auction afresh, so it carries committed data
and its `version`.

`auction:updated` is coalesced twice: in this process (realtime/coalesce.py, like product updates:
the first bid of a window goes out at once, the rest become one trailing broadcast that reads the
newest state when it is sent) and across processes by the message queue (broadcast.auction_updated:
at most one per UPDATE_WINDOW_MS per auction, and never a version at or below one already
published). When the queue says "wait" (another process sent one a moment ago), this process tries
again when the window ends, reading the newest state again — so the last state always goes out.
"""

from __future__ import annotations

import uuid

from flask import Flask, current_app

from dorami_api.auctions.models import Auction
from dorami_api.auctions.serializers import ended_json, event_json, minimum_bid
from dorami_api.db.types import money_str
from dorami_api.extensions import db
from dorami_api.realtime import broadcast
from dorami_api.realtime.coalesce import Coalescer
from dorami_api.realtime.timers import sleep, spawn
from dorami_api.server import shutdown
from dorami_api.streaming.models import LiveStream
from dorami_api.web.responses import iso, now_iso

UPDATE_WINDOW_MS = 100
_EXTENSION = "dorami_auction_updates"
# A trailing update that keeps finding the window taken gives up after this many tries: by then
# a newer state has gone out from the process that kept taking it.
_MAX_TRIES = 50


def init_app(app: Flask) -> None:
    coalescer = Coalescer(UPDATE_WINDOW_MS / 1000)
    app.extensions[_EXTENSION] = coalescer
    shutdown.register(app, "auction-updates", coalescer.flush)


def _updates() -> Coalescer:
    return current_app.extensions[_EXTENSION]


def _load(auction_id: uuid.UUID) -> tuple[Auction, str] | None:
    auction = db.session.get(Auction, auction_id, populate_existing=True)
    if auction is None:
        return None
    stream_key = db.session.scalar(db.select(LiveStream.stream_key).where(LiveStream.id == auction.stream_id))
    return (auction, stream_key) if stream_key else None


def _send_update(app: Flask, auction_id: uuid.UUID, tries: int = _MAX_TRIES) -> None:
    """Send the newest state; when another process sent one less than a window ago, try again
    (reading the newest state again) once that window has passed, from a timer."""
    with app.app_context():
        loaded = _load(auction_id)
        if loaded is None or loaded[0].status != "RUNNING":
            return  # ended or cancelled: auction:ended says the rest
        status, wait_ms = broadcast.auction_updated(loaded[1], event_json(loaded[0]), UPDATE_WINDOW_MS)
    if status == "wait" and tries > 1:
        spawn(_send_later, app, auction_id, wait_ms / 1000, tries - 1)


def _send_later(app: Flask, auction_id: uuid.UUID, delay: float, tries: int) -> None:
    sleep(delay)
    _send_update(app, auction_id, tries)


def outbid_json(auction: Auction) -> dict:
    """`auction:outbid`: the state that took the lead away, as the bid's transaction committed it."""
    return {
        "auctionId": str(auction.id),
        "currentPrice": money_str(auction.current_price),
        "minimumBid": money_str(minimum_bid(auction)),
        "endsAt": iso(auction.ends_at),
    }


def announce_bid(auction_id: uuid.UUID, outbid_user_ids: list[str], outbid: dict) -> None:
    """After bids committed: the room's `auction:updated`, `auction:outbid` to whoever lost the lead
    (`outbid`: outbid_json of the committed state, so no second read)."""
    app = current_app._get_current_object()
    _updates().submit(auction_id, lambda: _send_update(app, auction_id), lambda: _send_update(app, auction_id))
    for user_id in outbid_user_ids:
        broadcast.auction_outbid(user_id, {**outbid, "serverTime": now_iso()})


def announce_started(auction_id: uuid.UUID) -> None:
    loaded = _load(auction_id)
    if loaded is not None:
        broadcast.auction_started(loaded[1], event_json(loaded[0]))


def announce_ended(auction_id: uuid.UUID) -> None:
    """Ended or cancelled: once, from the one transaction that made it so."""
    loaded = _load(auction_id)
    if loaded is not None:
        broadcast.auction_ended(loaded[1], ended_json(loaded[0]))


def announce_won(auction_id: uuid.UUID) -> None:
    auction = db.session.get(Auction, auction_id, populate_existing=True)
    if auction is not None and auction.winner_id is not None and auction.order_id is not None:
        data = {
            "auctionId": str(auction.id),
            "orderId": auction.order_id,
            "finalPrice": money_str(auction.final_price),
            "serverTime": now_iso(),
        }
        broadcast.auction_won(str(auction.winner_id), data)
