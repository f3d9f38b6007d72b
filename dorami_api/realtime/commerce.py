"""`/`: the commerce room of a stream. A client joins `stream:{streamKey}` and from then on gets
the product, featured-product, purchase and notice broadcasts of broadcast.py; its user room
(`user:{id}`) and, for admins, `admin` were joined on connect."""

from __future__ import annotations

from flask_socketio import join_room, leave_room
from pydantic import BaseModel, ConfigDict, Field

from dorami_api.realtime import broadcast, socket_limits
from dorami_api.realtime.broadcast import ROOT
from dorami_api.realtime.connections import SocketClient
from dorami_api.realtime.replies import RequiredText, SocketPayload, socket_event


class StreamRoom(SocketPayload):
    streamId: RequiredText = Field(description="The stream's public key (its streamKey)")


class Joined(BaseModel):
    model_config = ConfigDict(extra="forbid")
    streamId: str
    room: str


class Left(BaseModel):
    model_config = ConfigDict(extra="forbid")
    streamId: str


@socket_event(
    ROOT,
    "join:stream",
    socket_limits.JOIN_LEAVE,
    guests=True,
    payload=StreamRoom,
    ack=Joined,
    summary="Join a stream's commerce room: its product, featured-product, purchase and end broadcasts",
)
def join_stream(client: SocketClient, payload: StreamRoom) -> dict:
    stream_key = payload.streamId
    room = broadcast.stream_room(stream_key)
    join_room(room)
    return {"streamId": stream_key, "room": room}


@socket_event(
    ROOT,
    "leave:stream",
    socket_limits.JOIN_LEAVE,
    guests=True,
    payload=StreamRoom,
    ack=Left,
    summary="Leave a stream's commerce room",
)
def leave_stream(client: SocketClient, payload: StreamRoom) -> dict:
    stream_key = payload.streamId
    leave_room(broadcast.stream_room(stream_key))
    return {"streamId": stream_key}
