"""Order broadcasts, run after commit: social proof to the stream rooms (a display name
and a product name — never an email or an address), the full order to admins, status changes to
the buyer's own room.

Every order gets its purchase notice, but a burst of them is paced per stream (realtime/pacing.py):
the first few go out at once, the rest a couple per second in order. Each notice is one delivery
to every viewer, and during a flash sale they competed with the orders for the CPU: measured with
500 and 2,000 viewers, sending them at once halved the orders per second (29 vs 83 with 500).
The sold-out, the product updates and `order:new` to the admins are not paced.
"""

from __future__ import annotations

from flask import Flask, current_app

from dorami_api.extensions import db
from dorami_api.orders.models import Order
from dorami_api.orders.serializers import admin_order_json, order_json
from dorami_api.realtime import broadcast
from dorami_api.realtime.pacing import Pacer
from dorami_api.server import shutdown
from dorami_api.settings.models import SystemConfig
from dorami_api.settings.service import system_config
from dorami_api.streaming.models import stream_keys
from dorami_api.users.models import User
from dorami_api.web.plain_text import displayable


def init_app(app: Flask) -> None:
    # Per stream and per app's process: 3 at once, then 2 a second.
    notices = app.extensions["purchase_notices"] = Pacer(rate=2.0, burst=3)
    shutdown.register(app, "purchase-notices", notices.flush)


def flush_pending_notices(app: Flask) -> None:
    """Send every paced purchase notice of the app still waiting (tests; the shutdown step does it too)."""
    app.extensions["purchase_notices"].flush()


def display_name(user: User | None) -> str:
    """The Instagram handle, else the first name only."""
    if user is None:
        return "Someone"
    if user.instagram_id:
        return user.instagram_id
    # Names are cleaned when written; displayable() also covers those stored before that.
    first = displayable(user.name).split()
    return first[0] if first else "Someone"


def announce_new_order(order_id: str) -> None:
    order = db.session.get(Order, order_id, populate_existing=True)
    if order is None:
        return
    keys = stream_keys(item.stream_id for item in order.items)
    names = {order.user_id: display_name(db.session.get(User, order.user_id))}
    announce_new_orders([order], keys, names, system_config())


def announce_new_orders(orders: list[Order], keys: dict, names: dict, config: SystemConfig) -> None:
    """The broadcasts of new orders, from what the caller read (a batch reads it once for all):
    keys: stream id -> stream key; names: user id -> display name; config: the shop settings."""
    notices = current_app.extensions["purchase_notices"]
    for order in orders:
        stream_ids = list(dict.fromkeys(item.stream_id for item in order.items if item.stream_id))
        name = names[order.user_id]
        for stream_id in stream_ids:
            first_item = next(item for item in order.items if item.stream_id == stream_id)
            if stream_id in keys:
                key, product_name = keys[stream_id], first_item.product_name
                notices.submit(key, lambda k=key, n=name, p=product_name: broadcast.purchase_notification(k, n, p))
        broadcast.order_new(admin_order_json(order, config))


def announce_order_updated(order_id: str) -> None:
    order = db.session.get(Order, order_id, populate_existing=True)
    if order is not None:
        broadcast.order_updated(str(order.user_id), order_json(order))
