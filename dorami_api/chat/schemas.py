"""The `/chat` events: the payload models that validate what clients send (and describe it in
the AsyncAPI document), the data of their acknowledgements, and the events the room receives."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from dorami_api.realtime.broadcast import CHAT
from dorami_api.realtime.catalogue import server_event
from dorami_api.realtime.replies import RequiredText, SocketError, SocketPayload, checked_even_if_absent
from dorami_api.web.fields import Timestamp
from dorami_api.web.plain_text import NotPlainText, plain_text

MAX_MESSAGE_LENGTH = 500
DEFAULT_MINUTES = {"MUTE": 10, "BAN": 24 * 60}
MAX_MINUTES = 7 * 24 * 60
MAX_CLIENT_MESSAGE_ID = 64


def clean_message(raw: Any) -> str:
    if not isinstance(raw, str):
        raise SocketError("INVALID_MESSAGE", "message must be text")
    try:
        text = plain_text(raw, multiline=True)
    except NotPlainText as error:
        raise SocketError("VALIDATION_ERROR", f"message {error}") from None
    if not text:
        raise SocketError("INVALID_MESSAGE", "The message is empty")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise SocketError("MESSAGE_TOO_LONG", f"A message is at most {MAX_MESSAGE_LENGTH} characters")
    return text


def _client_message_id(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_CLIENT_MESSAGE_ID):
        raise SocketError("VALIDATION_ERROR", "clientMessageId must be text of at most 64 characters")
    return value


def _minutes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MINUTES:
        raise SocketError("VALIDATION_ERROR", f"minutes must be a whole number from 1 to {MAX_MINUTES}")
    return value


def _reason(value: Any) -> str | None:
    # Informational: anything but non-empty text is no reason; long text is cut, not refused.
    return value[:500] if isinstance(value, str) and value else None


class Room(SocketPayload):
    liveId: RequiredText = Field(description="The stream's public key (its streamKey)")


class SendMessage(SocketPayload):
    liveId: RequiredText
    # INVALID_MESSAGE (not text, or nothing left), MESSAGE_TOO_LONG, VALIDATION_ERROR (controls).
    message: checked_even_if_absent(
        str,
        clean_message,
        min_length=1,
        description=f"Plain text (markup is removed; newlines kept), 1-{MAX_MESSAGE_LENGTH} characters once cleaned",
    )
    clientMessageId: Annotated[str | None, BeforeValidator(_client_message_id)] = Field(
        None, max_length=MAX_CLIENT_MESSAGE_ID, description="Echoed in the ack and the broadcast"
    )


class DeleteMessage(SocketPayload):
    liveId: RequiredText
    messageId: RequiredText


class Moderate(SocketPayload):
    liveId: RequiredText
    userId: RequiredText
    minutes: Annotated[int | None, BeforeValidator(_minutes)] = Field(
        None, ge=1, le=MAX_MINUTES, description="Default: 10 for a mute, 1440 for a ban"
    )
    reason: Annotated[str | None, BeforeValidator(_reason)] = Field(None, description="Kept (first 500 characters)")


# --- acknowledgement data -----------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Joined(Out):
    liveId: str
    roomName: str


class Left(Out):
    liveId: str


class Sent(Out):
    id: str
    clientMessageId: str | None
    timestamp: Timestamp


class Deleted(Out):
    messageId: str
    liveId: str
    removedFromHistory: bool


class Moderation(Out):
    liveId: str
    userId: str
    action: Literal["MUTE", "BAN"]
    minutes: int
    expiresAt: Timestamp
    moderatorId: str


# --- what the room receives -----------------------------------------------------------------------


class ChatMessage(Out):
    id: str
    liveId: str
    userId: str
    username: str
    message: str
    clientMessageId: str | None
    timestamp: Timestamp


class History(Out):
    liveId: str
    messages: list[ChatMessage]


class Presence(Out):
    liveId: str
    userId: str
    username: str
    timestamp: Timestamp


class MessageDeleted(Out):
    liveId: str
    messageId: str
    deletedBy: str
    timestamp: Timestamp


server_event(CHAT, "chat:history", History, "The room's last messages, to the socket that joined")
server_event(CHAT, "chat:user-joined", Presence, "Someone joined the room")
server_event(CHAT, "chat:user-left", Presence, "Someone left the room")
server_event(CHAT, "chat:message", ChatMessage, "A message in the room")
server_event(CHAT, "chat:message-deleted", MessageDeleted, "An admin deleted a message")
server_event(CHAT, "chat:user-muted", Moderation, "A mute: to the admins and to its target")
server_event(CHAT, "chat:user-banned", Moderation, "A ban: to the admins and to its target")
