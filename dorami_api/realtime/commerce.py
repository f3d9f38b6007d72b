"""`/`: the commerce room of a stream. A client joins `stream:{streamKey}` and from then on gets
the product, featured-product, purchase and notice broadcasts of broadcast.py; its user room
(`user:{id}`) and, for admins, `admin` were joined on connect."""

from __future__ import annotations

from flask_socketio import join_room, leave_room

from dorami_api.realtime import broadcast, socket_limits
from dorami_api.realtime.broadcast import ROOT
from dorami_api.realtime.connections import SocketClient
from dorami_api.realtime.replies import required_text, socket_event


@socket_event(ROOT, "join:stream", socket_limits.JOIN_LEAVE, guests=True)
def join_stream(client: SocketClient, payload: dict) -> dict:
    stream_key = required_text(payload, "streamId")
    room = broadcast.stream_room(stream_key)
    join_room(room)
    return {"streamId": stream_key, "room": room}


@socket_event(ROOT, "leave:stream", socket_limits.JOIN_LEAVE, guests=True)
def leave_stream(client: SocketClient, payload: dict) -> dict:
    stream_key = required_text(payload, "streamId")
    leave_room(broadcast.stream_room(stream_key))
    return {"streamId": stream_key}
