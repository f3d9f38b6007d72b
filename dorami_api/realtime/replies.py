"""How every client event is answered: through the acknowledgement callback when the
client passed one — {success: true, data} or {success: false, errorCode, message} — otherwise
through `<event>:success` {type, data} or `error` {type: "error", errorCode, message}.

`socket_event` wraps a handler with this, with the per-user rate limit, the guest rule and the
event metric, so a handler only validates, acts and returns its data or raises SocketError.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import request
from flask_socketio import emit

from dorami_api.extensions import socketio
from dorami_api.realtime import connections, operations, socket_limits
from dorami_api.realtime.server import ack_requested

log = logging.getLogger(__name__)


class SocketError(Exception):
    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


def _answer_success(event: str, data: Any):
    if ack_requested():
        return {"success": True, "data": data}
    emit(f"{event}:success", {"type": f"{event}:success", "data": data})
    return None


def _answer_error(event: str, error: SocketError):
    if ack_requested():
        return {"success": False, "errorCode": error.code, "message": error.message, **error.extra}
    emit("error", {"type": "error", "errorCode": error.code, "message": error.message, "event": event, **error.extra})
    return None


def charge(limit: socket_limits.Limit, client: connections.SocketClient) -> None:
    """Count one event of the client against `limit`; RATE_LIMIT_EXCEEDED when over it."""
    try:
        socket_limits.hit(limit, client.participant)
    except socket_limits.RateLimited as limited:
        raise _rate_limit_exceeded(limited) from None


def _rate_limit_exceeded(limited: socket_limits.RateLimited) -> SocketError:
    return SocketError("RATE_LIMIT_EXCEEDED", str(limited), retryAfter=limited.retry_after)


def socket_event(
    namespace: str,
    event: str,
    limit: socket_limits.Limit = socket_limits.OTHER,
    guests: bool = False,
    limit_counted_by_handler: bool = False,
):
    """Register handler(client, payload: dict) -> data for `event` in `namespace`.

    With `limit_counted_by_handler` the handler counts the event against `limit` itself (in the
    same Redis round trip as its own work; chat messages) and may raise socket_limits.RateLimited;
    an event refused before it reaches the handler is still counted here."""

    def decorator(handler: Callable[[connections.SocketClient, dict], Any]):
        @functools.wraps(handler)
        def handle(payload=None, *_ignored):
            operations.count_event(namespace, event)
            try:
                client = connections.get(namespace, request.sid)
                if client is None:
                    raise SocketError("UNAUTHORIZED", "Not connected")
                if client.is_guest and not guests:
                    raise SocketError("UNAUTHORIZED", "Sign in to do this")
                if not limit_counted_by_handler:
                    charge(limit, client)
                if payload is None:
                    payload = {}
                if not isinstance(payload, dict):
                    if limit_counted_by_handler:
                        charge(limit, client)
                    raise SocketError("VALIDATION_ERROR", "The payload must be an object")
                return _answer_success(event, handler(client, payload))
            except socket_limits.RateLimited as limited:
                return _answer_error(event, _rate_limit_exceeded(limited))
            except SocketError as error:
                return _answer_error(event, error)
            except Exception:
                log.exception("socket event %s in %s failed", event, namespace)
                return _answer_error(event, SocketError("INTERNAL_ERROR", "Something went wrong"))

        socketio.on(event, namespace=namespace)(handle)
        return handler

    return decorator


def required_text(payload: dict, field: str, max_length: int = 64) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value.strip():
        raise SocketError("VALIDATION_ERROR", f"{field} is required")
    value = value.strip()
    if len(value) > max_length:
        raise SocketError("VALIDATION_ERROR", f"{field} is too long")
    return value
