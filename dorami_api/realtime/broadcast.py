"""The only module that knows Socket.IO event names and rooms (SPEC §7). Services call these
functions after their transaction commits (see common/after_commit.py); each emits `{type, data}`
through the Redis message queue, so it reaches subscribers on every process and host.

Rooms: `stream:{streamKey}` in `/` (commerce) and `/streaming` (presence), `live:{streamKey}` in
`/chat`, `user:{userId}` and `admin` in every namespace.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

ROOT = "/"
STREAMING = "/streaming"
CHAT = "/chat"


def stream_room(stream_key: str) -> str:
    return f"stream:{stream_key}"


def chat_room(stream_key: str) -> str:
    return f"live:{stream_key}"


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


ADMIN_ROOM = "admin"


def envelope(event: str, data: Any) -> dict:
    return {"type": event, "data": data}


def _emit(event: str, data: Any, room: str | None, namespace: str = ROOT) -> None:
    """Hand one event to Socket.IO (and so to the message queue). Replaced by the realtime
    layer's emitter once it is initialised (realtime/emitter.py)."""
    from dorami_api.extensions import socketio

    if getattr(socketio, "server", None) is None:
        log.debug("socket server not initialised; %s to %s not sent", event, room)
        return
    socketio.emit(event, envelope(event, data), to=room, namespace=namespace)


# --- products and streams (to the stream's room in `/`) -------------------------------------


def product_added(stream_key: str | None, product: dict) -> None:
    if stream_key:
        _emit("live:product:added", product, stream_room(stream_key))


def product_updated(stream_key: str | None, product: dict) -> None:
    if stream_key:
        _emit("live:product:updated", product, stream_room(stream_key))


def product_soldout(stream_key: str | None, product: dict) -> None:
    if stream_key:
        _emit("live:product:soldout", product, stream_room(stream_key))


def product_deleted(stream_key: str | None, product: dict) -> None:
    if stream_key:
        _emit("live:product:deleted", product, stream_room(stream_key))


def product_low_stock(stream_key: str | None, product: dict) -> None:
    """0 < available < 5."""
    if stream_key:
        data = {"productId": product["id"], "productName": product["name"], "available": product["available"]}
        _emit("product:low-stock", data, stream_room(stream_key))


def featured_product_updated(stream_key: str, product: dict | None) -> None:
    _emit("stream:featured-product:updated", {"streamKey": stream_key, "product": product}, stream_room(stream_key))


def stream_ended(stream_key: str, data: dict) -> None:
    """To everyone watching: the commerce room, the presence room and the chat room."""
    payload = {"streamKey": stream_key, **data}
    _emit("stream:ended", payload, stream_room(stream_key), ROOT)
    _emit("stream:ended", payload, stream_room(stream_key), STREAMING)
    _emit("stream:ended", payload, chat_room(stream_key), CHAT)


def purchase_notification(stream_key: str, display_name: str, product_name: str) -> None:
    """Social proof: a display name and a product, never personal data."""
    data = {"streamKey": stream_key, "displayName": display_name, "productName": product_name}
    _emit("order:purchase:notification", data, stream_room(stream_key))


def notice_updated(notice: dict) -> None:
    _emit("notice:updated", notice, None)


# --- users and admins ------------------------------------------------------------------------


def order_new(order: dict) -> None:
    _emit("order:new", order, ADMIN_ROOM)


def order_updated(user_id: str, order: dict) -> None:
    _emit("order:updated", order, user_room(user_id))


def cart_expired(user_id: str, data: dict) -> None:
    _emit("cart:expired", data, user_room(user_id))


def waitlist_promoted(user_id: str, data: dict) -> None:
    _emit("waitlist:promoted", data, user_room(user_id))


def session_revoked(user_id: str, data: dict) -> None:
    for namespace in (ROOT, STREAMING, CHAT):
        _emit("session:revoked", data, user_room(user_id), namespace)
