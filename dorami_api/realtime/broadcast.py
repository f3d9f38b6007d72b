"""The only module that knows Socket.IO event names and rooms. Services call these
functions after their transaction commits (see db/after_commit.py); each emits `{type, data}`
through the Redis message queue, so it reaches subscribers on every process and host.

Rooms: `stream:{streamKey}` in `/` (commerce) and `/streaming` (presence), `live:{streamKey}` in
`/chat`, `user:{userId}` and `admin` in every namespace.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dorami_api.extensions import socketio
from dorami_api.web.responses import now_iso

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


# Test runs set it to a file: every event this process emits, and every acknowledgement it sends
# (kind "ack"), is appended to it as one JSON line {kind, namespace, event, payload};
# tests/contract checks each one against the AsyncAPI document.
EVENT_LOG_ENV = "DORAMI_EVENT_LOG"


def record(namespace: str, event: str, payload: Any, kind: str = "emit") -> None:
    path = os.environ.get(EVENT_LOG_ENV)
    if not path:
        return
    entry = {"kind": kind, "namespace": namespace, "event": event, "payload": payload}
    line = json.dumps(entry, default=str) + "\n"
    # One write of an O_APPEND file: lines of several workers never interleave.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line.encode("utf-8", "surrogatepass"))
    finally:
        os.close(descriptor)


def _emit(event: str, data: Any, room: str | None, namespace: str = ROOT, local_only: bool = False) -> None:
    """Hand one event to Socket.IO. With Redis configured it is delivered to this process's
    sockets and published on the message queue for every other process — which is how a REST
    request in another worker, or the jobs worker that serves no sockets at all, reaches every
    client. In the embedded mode (no Redis) it reaches this process's sockets only.
    `local_only` addresses a socket this process holds (no trip through Redis)."""
    if getattr(socketio, "server", None) is None:
        log.debug("socket server not initialised; %s to %s not sent", event, room)
        return
    try:
        message = envelope(event, data)
        record(namespace, event, message)
        socketio.emit(event, message, to=room, namespace=namespace, ignore_queue=local_only)
    except Exception:  # a broadcast must never fail the committed change that caused it
        log.exception("could not emit %s to %s", event, room)


# --- products and streams (to the stream's room in `/`) -------------------------------------


def product_added(stream_key: str | None, product: dict) -> None:
    if stream_key:
        _emit("live:product:added", product, stream_room(stream_key))


def _product_order(product: dict, event_rank: int) -> tuple[str, int]:
    """The order key and rank of a product broadcast: its version, and at the same version a
    sold-out above an update. Another process's coalesced update reads the product when it is
    sent, so it can carry the very version that sold out and reach Redis before the sold-out;
    ranked by version alone, the sold-out was then dropped as stale and no viewer heard it (seen
    in a 2,000-buyer flash sale: 0 of 2,000 viewers)."""
    return f"product-event:{product['id']}", product["version"] * 2 + event_rank


def product_updated(stream_key: str | None, product: dict) -> None:
    """In order across processes (with the sold-out): in a flash sale two processes' batches
    commit moments apart, and an update one of them read before the other's sold-out must not
    reach a viewer after it."""
    if stream_key:
        key, rank = _product_order(product, 0)
        _emit_in_order("live:product:updated", product, stream_room(stream_key), key, rank=rank)


def product_soldout(stream_key: str | None, product: dict) -> None:
    if stream_key:
        key, rank = _product_order(product, 1)
        _emit_in_order("live:product:soldout", product, stream_room(stream_key), key, rank=rank)


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


# --- auctions (to the stream's room in `/`, and the bidders' rooms) --------------------------


def _emit_in_order(
    event: str, data: dict, room: str, order_key: str, window_ms: int = 0, rank: int | None = None
) -> tuple[str, int]:
    """Emit an event whose rank (`data["version"]` unless given) must reach every viewer in
    increasing order, across processes: published by the message queue only when the rank is
    above the last one published for `order_key`, and (window_ms) at most once per window — the
    check and the PUBLISH in one Redis call, and delivered to every process (this one too) from
    the queue, so every viewer gets them in the one order Redis published them. ("sent" |
    "stale" | "wait", milliseconds to wait.) In the embedded mode (one process, no queue) it is
    a plain emit."""
    if getattr(socketio, "server", None) is None:
        log.debug("socket server not initialised; %s to %s not sent", event, room)
        return "sent", 0
    manager = socketio.server.manager
    message = envelope(event, data)
    record(ROOT, event, message)
    try:
        if hasattr(manager, "publish_in_order"):
            rank = data["version"] if rank is None else rank
            return manager.publish_in_order(event, message, ROOT, room, order_key, rank, window_ms)
        socketio.emit(event, message, to=room, namespace=ROOT)
    except Exception:  # a broadcast must never fail the committed change that caused it
        log.exception("could not emit %s to %s", event, room)
    return "sent", 0


def auction_started(stream_key: str, data: dict) -> None:
    _emit_in_order("auction:started", data, stream_room(stream_key), f"auction:{data['auctionId']}")


def auction_updated(stream_key: str, data: dict, window_ms: int) -> tuple[str, int]:
    """At most one per window per auction across processes; ("wait", ms) when too soon."""
    return _emit_in_order("auction:updated", data, stream_room(stream_key), f"auction:{data['auctionId']}", window_ms)


def auction_ended(stream_key: str, data: dict) -> None:
    _emit_in_order("auction:ended", data, stream_room(stream_key), f"auction:{data['auctionId']}")


def auction_won(user_id: str, data: dict) -> None:
    _emit("auction:won", data, user_room(user_id))


def auction_outbid(user_id: str, data: dict) -> None:
    _emit("auction:outbid", data, user_room(user_id))


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


# --- the socket layer's own events (realtime/*) ----------------------------------------------


def connection_welcome(sid: str, namespace: str, user_id: str | None) -> None:
    data = {"userId": user_id, "authenticated": user_id is not None, "namespace": namespace}
    _emit("connection:success", data, sid, namespace, local_only=True)


def chat_history(sid: str, live_id: str, messages: list[dict]) -> None:
    _emit("chat:history", {"liveId": live_id, "messages": messages}, sid, CHAT, local_only=True)


def chat_user_joined(live_id: str, user_id: str, username: str) -> None:
    data = {"liveId": live_id, "userId": user_id, "username": username, "timestamp": _now()}
    _emit("chat:user-joined", data, chat_room(live_id), CHAT)


def chat_user_left(live_id: str, user_id: str, username: str) -> None:
    data = {"liveId": live_id, "userId": user_id, "username": username, "timestamp": _now()}
    _emit("chat:user-left", data, chat_room(live_id), CHAT)


def chat_message(live_id: str, message: dict) -> None:
    """`chat:message` to this process's sockets, which are everyone in the embedded mode (one
    process, no queue: chat_message_publication() gives None). Unlike _emit, a failure is raised:
    the sender must not hear "sent" for a message nobody received."""
    data = envelope("chat:message", message)
    record(CHAT, "chat:message", data)
    socketio.emit("chat:message", data, to=chat_room(live_id), namespace=CHAT)


@dataclass(frozen=True)
class Publication:
    """A confirmed broadcast that the caller's own Redis script publishes (PUBLISH `channel`
    `payload`, on the Redis of the message queue), so that a change and its broadcast take one
    round trip and happen together or not at all; `published()` once the script has run delivers it
    to this process's sockets."""

    channel: str
    payload: str
    published: Callable[[], None]


def chat_message_publication(live_id: str, message: dict) -> Publication | None:
    """`chat:message` as a Publication; None without the message queue (the embedded mode), where
    chat_message() sends it to this process's sockets. Raises QueueUnavailable when a process of
    this instance is not subscribed."""
    manager = socketio.server.manager
    if not hasattr(manager, "confirmable"):
        return None
    data = envelope("chat:message", message)
    queued = manager.confirmable("chat:message", data, namespace=CHAT, room=chat_room(live_id))

    def published() -> None:
        record(CHAT, "chat:message", data)
        manager.deliver_here(queued)

    return Publication(manager.channel, manager.json.dumps(queued), published)


def chat_message_deleted(live_id: str, message_id: str, deleted_by: str) -> None:
    data = {"liveId": live_id, "messageId": message_id, "deletedBy": deleted_by, "timestamp": _now()}
    _emit("chat:message-deleted", data, chat_room(live_id), CHAT)


def chat_user_moderated(target_user_id: str, data: dict) -> None:
    """A mute or ban: the admins of `/chat` see it, and so does its target."""
    event = "chat:user-muted" if data["action"] == "MUTE" else "chat:user-banned"
    _emit(event, data, ADMIN_ROOM, CHAT)
    _emit(event, data, user_room(target_user_id), CHAT)


def viewer_count_updated(stream_key: str, viewer_count: int) -> None:
    data = {"streamKey": stream_key, "viewerCount": viewer_count, "timestamp": _now()}
    _emit("stream:viewer:update", data, stream_room(stream_key), STREAMING)


def session_revoked_socket(sid: str, namespace: str, data: dict) -> None:
    """To one socket this process holds, just before it is disconnected."""
    _emit("session:revoked", data, sid, namespace, local_only=True)


def server_shutdown_socket(sid: str, namespace: str) -> None:
    _emit("server:shutdown", {"reconnect": True}, sid, namespace, local_only=True)


def _now() -> str:
    return now_iso()
