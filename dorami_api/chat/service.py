"""`/chat`: live chat rooms `live:{streamKey}`.

A ban also takes the user's sockets out of the room on every process (control.py); a mute only
silences them.

History lives in Redis (`chat:{liveId}:history`, last 100, 24 h). Mutes and bans are recorded as
ChatModeration rows (the audit trail, and the source that survives a Redis flush) and mirrored in
Redis keys with the same lifetime, which is what a message is checked against.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from flask import Flask
from flask_socketio import join_room, leave_room

from dorami_api.chat import schemas
from dorami_api.chat.models import ChatModeration
from dorami_api.chat.schemas import DEFAULT_MINUTES
from dorami_api.chat.schemas import clean_message as clean_message  # the cleaning of a message, as before
from dorami_api.db.types import utcnow
from dorami_api.extensions import db, redis_store, socketio
from dorami_api.realtime import broadcast, connections, control, socket_limits
from dorami_api.realtime.broadcast import CHAT
from dorami_api.realtime.connections import SocketClient
from dorami_api.realtime.queue import QueueUnavailable
from dorami_api.realtime.replies import SocketError, charge, socket_event
from dorami_api.streaming import live_status
from dorami_api.users.models import User
from dorami_api.web.responses import iso, now_iso

HISTORY_LENGTH = 100
HISTORY_TTL_SECONDS = 24 * 3600


def history_key(live_id: str) -> str:
    return f"chat:{live_id}:history"


def moderation_key(live_id: str, action: str, user_id: str) -> str:
    return f"chat:{live_id}:{action.lower()}:{user_id}"


def history(live_id: str) -> list[dict]:
    return [json.loads(item) for item in redis_store.lrange(history_key(live_id), -HISTORY_LENGTH, -1)]


def _existing_stream(live_id: str) -> tuple[str, str]:
    status = live_status.status(live_id)
    if status is None:
        raise SocketError("STREAM_NOT_FOUND", "No stream has this key")
    return live_id, status


def _restore_moderation(live_id: str, user_id: str) -> None:
    """Re-arm the Redis mirror of this user's live mutes and bans in this room (after a flush)."""
    now = utcnow()
    rows = db.session.execute(
        db.select(ChatModeration.action, ChatModeration.expires_at).where(
            ChatModeration.stream_key == live_id,
            ChatModeration.target_user_id == uuid.UUID(user_id),
            ChatModeration.action.in_(("MUTE", "BAN")),
            ChatModeration.expires_at > now,
        )
    ).all()
    for action, expires_at in rows:
        seconds = int((expires_at - now).total_seconds())
        if seconds > 0:
            redis_store.set(moderation_key(live_id, action, user_id), iso(expires_at), ex=seconds)


@socket_event(
    CHAT,
    "chat:join-room",
    socket_limits.JOIN_LEAVE,
    payload=schemas.Room,
    ack=schemas.Joined,
    summary="Join a stream's chat room: chat:history to you, chat:user-joined to the room",
)
def join(client: SocketClient, payload: schemas.Room) -> dict:
    live_id, _status = _existing_stream(payload.liveId)
    _restore_moderation(live_id, client.user_id)
    if redis_store.exists(moderation_key(live_id, "BAN", client.user_id)):
        raise SocketError("CHAT_BANNED", "You are banned from this chat")
    room = broadcast.chat_room(live_id)
    join_room(room)
    broadcast.chat_history(client.sid, live_id, history(live_id))
    broadcast.chat_user_joined(live_id, client.user_id, client.username)
    return {"liveId": live_id, "roomName": room}


@socket_event(
    CHAT,
    "chat:leave-room",
    socket_limits.JOIN_LEAVE,
    payload=schemas.Room,
    ack=schemas.Left,
    summary="Leave a chat room (chat:user-left to the room)",
)
def leave(client: SocketClient, payload: schemas.Room) -> dict:
    live_id = payload.liveId
    room = broadcast.chat_room(live_id)
    if connections.in_room(client, room):
        leave_room(room)
        broadcast.chat_user_left(live_id, client.user_id, client.username)
    return {"liveId": live_id}


# One round trip per message (in this order of checks): count the sender's rate limit (shared
# by every process), refuse a banned or muted sender, then append to the room's history and publish
# the message on the Socket.IO queue — kept and sent together, or neither.
# KEYS: rate limit, ban, mute, history. ARGV: window, limit, message JSON, history length, TTL,
# the queue's channel and the published message ('' and '' without a queue: the embedded mode).
_SEND = (
    socket_limits.COUNT_HIT_LUA
    + """
if hits > tonumber(ARGV[2]) then return {'RATE_LIMITED', ttl} end
local ban = redis.call('GET', KEYS[2])
if ban then return {'CHAT_BANNED', ban} end
local mute = redis.call('GET', KEYS[3])
if mute then return {'CHAT_MUTED', mute} end
redis.call('RPUSH', KEYS[4], ARGV[3])
redis.call('LTRIM', KEYS[4], -tonumber(ARGV[4]), -1)
redis.call('EXPIRE', KEYS[4], ARGV[5])
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return {'OK', ''}
"""
)


def _new_message(client: SocketClient, payload: schemas.SendMessage) -> dict:
    """The message to send, or SocketError for what can be refused without Redis."""
    live_id, text, client_message_id = payload.liveId, payload.message, payload.clientMessageId
    if not connections.in_room(client, broadcast.chat_room(live_id)):
        raise SocketError("NOT_IN_ROOM", "Join the chat room before sending")
    status = live_status.status(live_id)
    if status is None:
        raise SocketError("STREAM_NOT_FOUND", "No stream has this key")
    if status == "ENDED":
        raise SocketError("STREAM_ENDED", "The stream has ended; its chat is closed")
    return {
        "id": str(uuid.uuid4()),
        "liveId": live_id,
        "userId": client.user_id,
        "username": client.username,
        "message": text,
        "clientMessageId": client_message_id,
        "timestamp": now_iso(),
    }


def _store(client: SocketClient, message: dict, publication: broadcast.Publication | None) -> None:
    """Count the message against the sender's limit, check ban and mute, keep it in the history and
    publish it (`publication`)."""
    live_id, limit = message["liveId"], socket_limits.CHAT_MESSAGES
    keys = [
        socket_limits.key(limit, client.participant),
        moderation_key(live_id, "BAN", client.user_id),
        moderation_key(live_id, "MUTE", client.user_id),
        history_key(live_id),
    ]
    args = [limit.window_seconds, limit.count, _stored_form(message), HISTORY_LENGTH, HISTORY_TTL_SECONDS]
    args += [publication.channel, publication.payload] if publication is not None else ["", ""]
    outcome, detail = redis_store.run_script(_SEND, keys, args)
    if outcome == "RATE_LIMITED":
        raise socket_limits.RateLimited(detail)
    if outcome != "OK":
        raise SocketError(outcome, "You cannot chat in this room right now", until=detail)


def _stored_form(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


@socket_event(
    CHAT,
    "chat:send-message",
    socket_limits.CHAT_MESSAGES,
    limit_counted_by_handler=True,
    payload=schemas.SendMessage,
    ack=schemas.Sent,
    summary="Send a message to a room you joined (chat:message to the room; acknowledged once delivered)",
)
def send_message(client: SocketClient, payload: schemas.SendMessage) -> dict:
    try:
        message = _new_message(client, payload)
        # Refused here while a process is not subscribed: answered SERVICE_UNAVAILABLE, not sent.
        publication = broadcast.chat_message_publication(message["liveId"], message)
    except (SocketError, QueueUnavailable):
        charge(socket_limits.CHAT_MESSAGES, client)  # a refused message counts too, as every event does
        raise
    _store(client, message, publication)
    if publication is None:
        broadcast.chat_message(message["liveId"], message)
    else:
        publication.published()
    return {"id": message["id"], "clientMessageId": message["clientMessageId"], "timestamp": message["timestamp"]}


@socket_event(
    CHAT,
    "chat:delete-message",
    payload=schemas.DeleteMessage,
    ack=schemas.Deleted,
    admins=True,
    summary="Delete a message from a room and its history (admins; chat:message-deleted to the room)",
)
def delete_message(client: SocketClient, payload: schemas.DeleteMessage) -> dict:
    live_id, message_id = payload.liveId, payload.messageId
    removed = False
    for raw in redis_store.lrange(history_key(live_id), 0, -1):
        if json.loads(raw).get("id") == message_id:
            removed = bool(redis_store.lrem(history_key(live_id), 1, raw))
            break
    db.session.add(
        ChatModeration(
            stream_key=live_id,
            action="DELETE_MESSAGE",
            message_id=message_id,
            moderator_id=uuid.UUID(client.user_id),
        )
    )
    db.session.commit()
    broadcast.chat_message_deleted(live_id, message_id, client.user_id)
    return {"messageId": message_id, "liveId": live_id, "removedFromHistory": removed}


def _moderate(client: SocketClient, payload: schemas.Moderate, action: str) -> dict:
    live_id, _status = _existing_stream(payload.liveId)
    target_id = payload.userId
    minutes = payload.minutes if payload.minutes is not None else DEFAULT_MINUTES[action]
    try:
        target = db.session.get(User, uuid.UUID(target_id))
    except ValueError:
        target = None
    if target is None:
        raise SocketError("USER_NOT_FOUND", "No user has this id")
    if target.role == "ADMIN":
        raise SocketError("FORBIDDEN", "Administrators cannot be muted or banned")
    expires_at = utcnow() + timedelta(minutes=minutes)
    db.session.add(
        ChatModeration(
            stream_key=live_id,
            action=action,
            target_user_id=target.id,
            moderator_id=uuid.UUID(client.user_id),
            reason=payload.reason,
            expires_at=expires_at,
        )
    )
    db.session.commit()
    redis_store.set(moderation_key(live_id, action, target_id), iso(expires_at), ex=minutes * 60)
    data = {
        "liveId": live_id,
        "userId": target_id,
        "action": action,
        "minutes": minutes,
        "expiresAt": iso(expires_at),
        "moderatorId": client.user_id,
    }
    broadcast.chat_user_moderated(target_id, data)
    if action == "BAN":
        leave_room_everywhere(target_id, live_id)  # this process at once, before the admin's answer
        control.publish("leave-chat-room", user_id=target_id, live_id=live_id)
    return data


def leave_room_everywhere(user_id: str, live_id: str) -> None:
    """A banned user's sockets, on this process, stop receiving the room."""
    room = broadcast.chat_room(live_id)
    for client in connections.local_clients():
        if client.namespace == CHAT and client.user_id == user_id:
            socketio.server.leave_room(client.sid, room, namespace=CHAT)


@socket_event(
    CHAT,
    "chat:mute-user",
    payload=schemas.Moderate,
    ack=schemas.Moderation,
    admins=True,
    summary="Mute a user in a room for some minutes (admins; chat:user-muted)",
)
def mute_user(client: SocketClient, payload: schemas.Moderate) -> dict:
    return _moderate(client, payload, "MUTE")


@socket_event(
    CHAT,
    "chat:ban-user",
    payload=schemas.Moderate,
    ack=schemas.Moderation,
    admins=True,
    summary="Ban a user from a room for some minutes (admins; chat:user-banned; their sockets leave it)",
)
def ban_user(client: SocketClient, payload: schemas.Moderate) -> dict:
    return _moderate(client, payload, "BAN")


def init_app(app: Flask) -> None:
    control.command(app, "leave-chat-room", leave_room_everywhere)
