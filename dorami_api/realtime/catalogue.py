"""The catalogue of socket events: every event a client may send (its payload model, which also
validates it, and the data of its acknowledgement) and every event the server emits (the model
of its `data`). The AsyncAPI document (dorami_api/asyncapi.py) is generated from it, nothing else.

A domain registers its events in one place, beside their models (its `schemas.py`):

    client events: `@socket_event(NAMESPACE, "chat:join-room", payload=JoinRoom, ack=Joined)` on
        the handler (realtime/replies.py registers it here, and validates with `payload`);
    server events: `server_event(NAMESPACE, "chat:message", ChatMessage, "A message in the room")`
        (or several namespaces: `server_event((ROOT, CHAT), ...)`).

Registrations are declarations made when the module is imported, the same for every app (as
routes on a blueprint), so the catalogue is module state without configuration in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dorami_api.realtime.broadcast import CHAT, ROOT, STREAMING

NAMESPACES = (ROOT, STREAMING, CHAT)


@dataclass(frozen=True)
class ClientEvent:
    namespace: str
    name: str
    payload: type[BaseModel]
    ack: Any  # the `data` of a successful answer: a model, or a type pydantic can describe
    summary: str
    guests: bool
    admins: bool


@dataclass(frozen=True)
class ServerEvent:
    namespace: str
    name: str
    data: Any  # the model (or type) of the event's `data`
    summary: str


_client_events: dict[tuple[str, str], ClientEvent] = {}
_server_events: dict[tuple[str, str], ServerEvent] = {}


def client_event(
    namespace: str, name: str, payload: type[BaseModel], ack: Any, summary: str, guests: bool, admins: bool
) -> None:
    _client_events[(namespace, name)] = ClientEvent(namespace, name, payload, ack, summary, guests, admins)


def server_event(namespaces: str | Iterable[str], name: str, data: Any, summary: str) -> None:
    for namespace in (namespaces,) if isinstance(namespaces, str) else tuple(namespaces):
        _server_events[(namespace, name)] = ServerEvent(namespace, name, data, summary)


def client_events() -> list[ClientEvent]:
    return sorted(_client_events.values(), key=lambda event: (event.namespace, event.name))


def server_events() -> list[ServerEvent]:
    return sorted(_server_events.values(), key=lambda event: (event.namespace, event.name))


# --- the socket layer's own events ---------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Welcome(_Out):
    userId: str | None = Field(description="null for a guest")
    authenticated: bool
    namespace: Literal["/", "/streaming", "/chat"]


class Revoked(_Out):
    reason: str = Field(description="logout, session-deleted, refresh-reuse, suspended, ...")


class Shutdown(_Out):
    reconnect: Literal[True]


server_event(NAMESPACES, "connection:success", Welcome, "Sent once the socket is accepted")
server_event(NAMESPACES, "session:revoked", Revoked, "The session ended; the socket is disconnected next")
server_event(NAMESPACES, "server:shutdown", Shutdown, "This server is draining: reconnect (to another)")

# What a handshake refused with: connect_error's `message` is one of these codes.
CONNECT_ERRORS = {
    "UNAUTHORIZED": "No token (guests allowed on / and /streaming only when SOCKET_ALLOW_GUESTS), or a bad one",
    "TOKEN_EXPIRED": "The access token expired: refresh it, then reconnect",
    "TOKEN_REVOKED": "The session was revoked (logout, deletion, refresh-token reuse)",
    "ACCOUNT_SUSPENDED": "The user is suspended",
    "SERVICE_UNAVAILABLE": "Redis or PostgreSQL is unavailable: retry shortly",
}
