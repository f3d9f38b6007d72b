"""Connect-time authentication in every namespace, and the sockets this process holds.

The token comes from the handshake `auth` ({token}), else `Authorization: Bearer`, else the
`accessToken` cookie, and goes through the same check as HTTP (auth/remembered_sessions.py: the
blocklist, the user's session epoch and the remembered session in one Redis round trip, the
session row only when nothing is remembered under that epoch, so a revocation refuses the next
connect on every process at once). A refusal is a
`connect_error` whose message is the error code — never a connect-then-kick. With
SOCKET_ALLOW_GUESTS=true a client that presents no token at all may join `/` and `/streaming` as a
read-only guest; a bad token is still refused, so the client knows to refresh it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_socketio import ConnectionRefusedError, join_room

from dorami_api.auth import remembered_sessions
from dorami_api.auth.principal import Principal
from dorami_api.auth.tokens import ACCESS_COOKIE, bearer_token
from dorami_api.errors import DEPENDENCY_OUTAGE, ApiError
from dorami_api.extensions import socketio
from dorami_api.realtime import broadcast
from dorami_api.realtime import server as socket_server
from dorami_api.realtime.broadcast import CHAT, ROOT, STREAMING
from dorami_api.web.plain_text import displayable

log = logging.getLogger(__name__)
GUEST_NAMESPACES = (ROOT, STREAMING)
ANONYMOUS_NAME = "익명"  # what the replaced service called a user without a name


@dataclass(frozen=True)
class SocketClient:
    sid: str
    namespace: str
    user_id: str | None  # None for a guest
    session_id: str | None
    role: str
    username: str

    @property
    def is_guest(self) -> bool:
        return self.user_id is None

    @property
    def is_admin(self) -> bool:
        return self.role == "ADMIN"

    @property
    def participant(self) -> str:
        """Who this is for counting and rate limiting: the user, or this one guest socket."""
        return self.user_id or f"guest:{self.sid}"


class Connections:
    """The sockets this process holds, and who is told when one comes or goes."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], SocketClient] = {}  # (namespace, sid) -> client
        self.connect_listeners: list = []
        self.disconnect_listeners: list = []


def init_app(app: Flask) -> None:
    socket_server.keep(app, "connections", Connections())


def _state() -> Connections:
    return socket_server.state("connections")


def get(namespace: str, sid: str) -> SocketClient | None:
    return _state().clients.get((namespace, sid))


def in_room(client: SocketClient, room: str) -> bool:
    """Whether this process's socket is in `room`. Flask-SocketIO's rooms() scans every room of
    the namespace — one per socket and one per user, thousands in a busy room — per call; this
    looks the one room up."""
    return client.sid in socketio.server.manager.rooms.get(client.namespace, {}).get(room, ())


def local_clients() -> list[SocketClient]:
    return list(_state().clients.values())


def on_connect(app: Flask, listener) -> None:
    """listener(client) after a socket of this app is accepted (presence, metrics, background tasks)."""
    app.extensions["socket_state"]["connections"].connect_listeners.append(listener)


def on_disconnect(app: Flask, listener) -> None:
    """listener(client) after a socket of this app has gone (presence clean-up, metrics)."""
    app.extensions["socket_state"]["connections"].disconnect_listeners.append(listener)


def handshake_token(auth) -> str | None:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str) and auth["token"].strip():
        token = auth["token"].strip()
        return bearer_token(token) or token  # "Bearer <token>" or the bare token
    return bearer_token(request.headers.get("Authorization", "")) or request.cookies.get(ACCESS_COOKIE) or None


def _display_name(principal: Principal) -> str:
    """The chat name: the Instagram handle when set, else the name (as the replaced service)."""
    # Names are cleaned when written; displayable() also covers those stored before that.
    return displayable(principal.instagram_id or principal.name) or ANONYMOUS_NAME


def authenticate(namespace: str, auth) -> SocketClient:
    token = handshake_token(auth)
    config = current_app.config["DORAMI"]
    if token is None and config.socket_allow_guests and namespace in GUEST_NAMESPACES:
        return SocketClient(request.sid, namespace, None, None, "GUEST", "guest")
    try:
        # The socket keeps its principal; remembering its token too would hold about 2 KB in this
        # process per viewer for hours, for HTTP requests that may never come to this process.
        principal = remembered_sessions.authenticate(token, remember_token=False)
    except ApiError as error:
        raise ConnectionRefusedError(error.code) from None
    except DEPENDENCY_OUTAGE as error:  # Redis or PostgreSQL down: the client retries later
        log.warning("socket authentication: %s", type(error).__name__)
        raise ConnectionRefusedError("SERVICE_UNAVAILABLE") from None
    except Exception:  # anything else failing: refuse clearly rather than hang the client
        log.exception("socket authentication failed")
        raise ConnectionRefusedError("SERVICE_UNAVAILABLE") from None
    username = _display_name(principal) if namespace == CHAT else principal.name
    return SocketClient(request.sid, namespace, principal.user_id, principal.session_id, principal.role, username)


def _connect(namespace: str, auth) -> None:
    client = authenticate(namespace, auth)
    if not client.is_guest:
        join_room(broadcast.user_room(client.user_id))
        if client.is_admin:
            join_room(broadcast.ADMIN_ROOM)
    state = _state()
    state.clients[(namespace, client.sid)] = client
    for listener in state.connect_listeners:
        try:
            listener(client)
        except Exception:
            log.exception("socket connect listener failed")
    # Sent once the CONNECT packet is out: an event emitted inside the handler would precede it.
    socketio.start_background_task(broadcast.connection_welcome, client.sid, namespace, client.user_id)


def _disconnect(namespace: str) -> None:
    state = _state()
    client = state.clients.pop((namespace, request.sid), None)
    if client is None:
        return
    for listener in state.disconnect_listeners:
        try:
            listener(client)
        except Exception:
            log.exception("socket disconnect listener failed")


def _register(namespace: str) -> None:
    @socketio.on("connect", namespace=namespace)
    def connect(auth=None):
        _connect(namespace, auth)

    @socketio.on("disconnect", namespace=namespace)
    def disconnect(reason=None):
        _disconnect(namespace)


for _namespace in (ROOT, STREAMING, CHAT):
    _register(_namespace)
