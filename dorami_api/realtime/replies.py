"""How every client event is answered: through the acknowledgement callback when the
client passed one — {success: true, data} or {success: false, errorCode, message} — otherwise
through `<event>:success` {type, data} or `error` {type: "error", errorCode, message}.

`socket_event` wraps a handler with this, with the per-user rate limit, the guest and admin
rules, the event metric and the validation of the payload by its model (the same model that
describes it in the AsyncAPI document, realtime/catalogue.py), so a handler gets a validated
model, acts, and returns its data or raises SocketError.

A payload field's own checks may raise SocketError (the event's error codes: INVALID_MESSAGE,
...); any other mismatch is VALIDATION_ERROR, "<field> is required" for a missing one.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Annotated, Any

from flask import request
from flask_socketio import emit
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo

from dorami_api.errors import DEPENDENCY_OUTAGE, RETRY_AFTER_SECONDS
from dorami_api.extensions import socketio
from dorami_api.realtime import broadcast, catalogue, connections, operations, socket_limits
from dorami_api.realtime.queue import QueueUnavailable
from dorami_api.realtime.server import ack_requested

log = logging.getLogger(__name__)


class SocketError(Exception):
    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


def _acknowledged(event: str, answer: dict) -> dict:
    broadcast.record(request.namespace, event, answer, kind="ack")
    return answer


def _answer_success(event: str, data: Any):
    if ack_requested():
        return _acknowledged(event, {"success": True, "data": data})
    payload = {"type": f"{event}:success", "data": data}
    broadcast.record(request.namespace, f"{event}:success", payload)
    emit(f"{event}:success", payload)
    return None


def _answer_error(event: str, error: SocketError):
    if ack_requested():
        return _acknowledged(
            event, {"success": False, "errorCode": error.code, "message": error.message, **error.extra}
        )
    payload = {"type": "error", "errorCode": error.code, "message": error.message, "event": event, **error.extra}
    broadcast.record(request.namespace, "error", payload)
    emit("error", payload)
    return None


def charge(limit: socket_limits.Limit, client: connections.SocketClient) -> None:
    """Count one event of the client against `limit`; RATE_LIMIT_EXCEEDED when over it."""
    try:
        socket_limits.hit(limit, client.participant)
    except socket_limits.RateLimited as limited:
        raise _rate_limit_exceeded(limited) from None


# Redis or PostgreSQL down, or the message queue not delivering: the event was not carried out
# (a chat message not sent), and the client may try again shortly.
UNAVAILABLE = (*DEPENDENCY_OUTAGE, QueueUnavailable)


def _dependency_unavailable() -> SocketError:
    message = "The service is unavailable; try again shortly"
    return SocketError("SERVICE_UNAVAILABLE", message, retryAfter=RETRY_AFTER_SECONDS)


def _rate_limit_exceeded(limited: socket_limits.RateLimited) -> SocketError:
    return SocketError("RATE_LIMIT_EXCEEDED", str(limited), retryAfter=limited.retry_after)


_REQUIRED = "x-required"


def _state_required(schema: dict) -> None:
    """Fields checked even when absent (so their own error comes first, in field order) are
    still required in the document."""
    required = schema.setdefault("required", [])
    for name, prop in schema.get("properties", {}).items():
        if prop.pop(_REQUIRED, False):
            prop.pop("default", None)
            required.append(name)
    if not required:
        del schema["required"]


class SocketPayload(BaseModel):
    """Base of client event payloads. Fields a handler does not read are ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_state_required)


def parse_payload(model: type[BaseModel], payload: dict) -> BaseModel:
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "payload"
        if first["type"] == "missing":
            raise SocketError("VALIDATION_ERROR", f"{field} is required") from None
        raise SocketError("VALIDATION_ERROR", f"{field} is invalid") from None


def socket_event(
    namespace: str,
    event: str,
    limit: socket_limits.Limit = socket_limits.OTHER,
    guests: bool = False,
    limit_counted_by_handler: bool = False,
    *,
    payload: type[BaseModel],
    ack: Any,
    summary: str,
    admins: bool = False,
):
    """Register handler(client, payload: `payload` model) -> data (described by `ack`) for
    `event` in `namespace`, and list it in the event catalogue.

    With `limit_counted_by_handler` the handler counts the event against `limit` itself (in the
    same Redis round trip as its own work; chat messages) and may raise socket_limits.RateLimited;
    an event refused before it reaches the handler is still counted here. `admins`: anyone else
    is refused FORBIDDEN before the payload is read."""
    model = payload
    catalogue.client_event(namespace, event, model, ack, summary, guests=guests, admins=admins)

    def decorator(handler: Callable[[connections.SocketClient, Any], Any]):
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
                if admins and not client.is_admin:
                    raise SocketError("FORBIDDEN", "Only administrators can do this")
                try:
                    parsed = parse_payload(model, payload)
                except SocketError:
                    if limit_counted_by_handler:
                        charge(limit, client)  # a refused event counts too, as every event does
                    raise
                return _answer_success(event, handler(client, parsed))
            except socket_limits.RateLimited as limited:
                return _answer_error(event, _rate_limit_exceeded(limited))
            except SocketError as error:
                return _answer_error(event, error)
            except UNAVAILABLE as error:
                log.warning("socket event %s in %s: %s", event, namespace, type(error).__name__)
                return _answer_error(event, _dependency_unavailable())
            except Exception:
                log.exception("socket event %s in %s failed", event, namespace)
                return _answer_error(event, SocketError("INTERNAL_ERROR", "Something went wrong"))

        socketio.on(event, namespace=namespace)(handle)
        return handler

    return decorator


def _required_text(max_length: int) -> Callable[[Any, ValidationInfo], str]:
    def check(value: Any, info: ValidationInfo) -> str:
        if not isinstance(value, str) or not value.strip():
            raise SocketError("VALIDATION_ERROR", f"{info.field_name} is required")
        value = value.strip()
        if len(value) > max_length:
            raise SocketError("VALIDATION_ERROR", f"{info.field_name} is too long")
        return value

    return check


def checked_even_if_absent(kind: Any, check: Callable[..., Any], **field: Any) -> Any:
    """A required field of type `kind` whose own `check` runs even when it is absent (then with
    None): its own error, in field order, instead of pydantic's "missing"."""
    extra = {**field.pop("json_schema_extra", {}), _REQUIRED: True}
    return Annotated[kind, Field(None, validate_default=True, json_schema_extra=extra, **field), BeforeValidator(check)]


def required_text(max_length: int = 64) -> Any:
    """A required text field (a stream key, an id): trimmed, not blank, at most `max_length`."""
    return checked_even_if_absent(str, _required_text(max_length), min_length=1, max_length=max_length, pattern=r"\S")


RequiredText = required_text()
