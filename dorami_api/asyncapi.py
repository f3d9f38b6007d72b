"""The AsyncAPI 3.0 document of the Socket.IO API, served at /api/v1/asyncapi.json, built from the
event catalogue (realtime/catalogue.py): each namespace is a channel; each client event is an
operation the server receives, with its payload schema (the model that validates it) and its
reply (the acknowledgement); each server event is an operation the server sends, with the schema
of its `{type, data}` envelope. The handshake's auth and its `connect_error` codes are on the
server and the channels.

Every answer to a client event that passed no acknowledgement callback is documented too: the
server then sends `<event>:success` `{type, data}` or `error` `{type, errorCode, message, event}`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from pydantic import BaseModel, TypeAdapter

from dorami_api.realtime import catalogue
from dorami_api.web.validation import documented

bp = Blueprint("asyncapi", __name__)
REF = "#/components/schemas/{model}"
_CHANNELS = {catalogue.ROOT: "commerce", catalogue.STREAMING: "streaming", catalogue.CHAT: "chat"}
_CHANNEL_TEXT = {
    catalogue.ROOT: "Commerce: a stream's room (`join:stream`), your user room, admins' room",
    catalogue.STREAMING: "Presence: who watches a stream, and its viewer count",
    catalogue.CHAT: "Live chat rooms `live:{streamKey}`",
}

ERROR_CODE = {"type": "string", "pattern": "^[A-Z0-9_]+$"}
# Extra fields of some errors: retryAfter (RATE_LIMIT_EXCEEDED, SERVICE_UNAVAILABLE), until (a mute/ban),
# details (what the refusal was measured against, e.g. BID_TOO_LOW's minimumBid).
ERROR_EXTRAS = {
    "retryAfter": {"type": "integer", "minimum": 0, "description": "Seconds to wait before trying again"},
    "until": {"type": "string", "description": "When a mute or ban ends"},
    "details": {"type": "object", "description": "More about the refusal, e.g. {minimumBid} of BID_TOO_LOW"},
}


def _message_id(event: str) -> str:
    """AsyncAPI ids allow letters, digits, `.`, `-`, `_`: `chat:send-message` -> `chat.send-message`."""
    return re.sub(r"[^A-Za-z0-9._-]", ".", event)


class _Schemas:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def of(self, described: Any, mode: str) -> dict:
        if isinstance(described, type) and issubclass(described, BaseModel):
            schema = described.model_json_schema(ref_template=REF, mode=mode)
            name = described.__name__
        else:
            schema = TypeAdapter(described).json_schema(ref_template=REF, mode=mode)
            name = None
        for key, definition in schema.pop("$defs", {}).items():
            self.schemas.setdefault(key, definition)
        if name is None:
            return schema
        existing = self.schemas.setdefault(name, schema)
        if existing != schema:  # two models of one name (chat's Joined and commerce's): keep both
            name = f"{described.__module__.split('.')[1].capitalize()}{name}"
            self.schemas.setdefault(name, schema)
        return {"$ref": REF.format(model=name)}


def _envelope(event: str, data: dict) -> dict:
    return {
        "type": "object",
        "required": ["type", "data"],
        "properties": {"type": {"const": event}, "data": data},
        "additionalProperties": False,
    }


def _ack(data: dict) -> dict:
    return {
        "oneOf": [
            {
                "type": "object",
                "required": ["success", "data"],
                "properties": {"success": {"const": True}, "data": data},
                "additionalProperties": False,
            },
            {
                "type": "object",
                "required": ["success", "errorCode", "message"],
                "properties": {
                    "success": {"const": False},
                    "errorCode": ERROR_CODE,
                    "message": {"type": "string"},
                    **ERROR_EXTRAS,
                },
                "additionalProperties": False,
            },
        ]
    }


def _error_event() -> dict:
    return {
        "type": "object",
        "required": ["type", "errorCode", "message", "event"],
        "properties": {
            "type": {"const": "error"},
            "errorCode": ERROR_CODE,
            "message": {"type": "string"},
            "event": {"type": "string", "description": "The client event this answers"},
            **ERROR_EXTRAS,
        },
        "additionalProperties": False,
    }


def build_document() -> dict:
    schemas = _Schemas()
    channels: dict[str, dict] = {}
    operations: dict[str, dict] = {}

    def channel(namespace: str) -> dict:
        key = _CHANNELS[namespace]
        if key not in channels:
            channels[key] = {
                "address": namespace,
                "title": f"Namespace {namespace}",
                "description": _CHANNEL_TEXT[namespace],
                "messages": {},
            }
        return channels[key]

    def message(namespace: str, event: str, payload: dict, summary: str, suffix: str = "") -> dict:
        key = _message_id(event) + suffix
        channel(namespace)["messages"][key] = {"name": event, "summary": summary, "payload": payload}
        return {"$ref": f"#/channels/{_CHANNELS[namespace]}/messages/{key}"}

    for namespace in catalogue.NAMESPACES:
        channel(namespace)
        error = message(namespace, "error", _error_event(), "The answer to a refused event sent without an ack")
        operations[f"{_CHANNELS[namespace]}.error"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{_CHANNELS[namespace]}"},
            "summary": "A client event was refused (no acknowledgement callback)",
            "messages": [error],
        }

    for event in catalogue.client_events():
        key = _CHANNELS[event.namespace]
        data = schemas.of(event.ack, "serialization")
        who = "guests too" if event.guests else ("admins only" if event.admins else "signed-in users")
        request = message(event.namespace, event.name, schemas.of(event.payload, "validation"), event.summary)
        reply = message(event.namespace, event.name, _ack(data), f"The acknowledgement of {event.name}", ".ack")
        operations[f"{key}.{_message_id(event.name)}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": event.summary,
            "description": f"Who: {who}. Answered through the acknowledgement callback when given.",
            "messages": [request],
            "reply": {"channel": {"$ref": f"#/channels/{key}"}, "messages": [reply]},
        }
        success = f"{event.name}:success"
        sent = message(event.namespace, success, _envelope(success, data), f"{event.name} done (no ack callback)")
        operations[f"{key}.{_message_id(success)}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"The answer to {event.name} sent without an acknowledgement callback",
            "messages": [sent],
        }

    for event in catalogue.server_events():
        key = _CHANNELS[event.namespace]
        payload = _envelope(event.name, schemas.of(event.data, "serialization"))
        operations[f"{key}.{_message_id(event.name)}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": event.summary,
            "messages": [message(event.namespace, event.name, payload, event.summary)],
        }

    connect_errors = "; ".join(f"`{code}`: {text}" for code, text in catalogue.CONNECT_ERRORS.items())
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Dorami realtime API",
            "version": "1.0.0",
            "description": (
                "Socket.IO (protocol 5, path /socket.io/) on the API's origin; each namespace is a channel. "
                "Every server event is {type, data}. A refused handshake is a `connect_error` whose `message` "
                f"is one of: {connect_errors}."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "api": {
                "host": "localhost:3001",
                "protocol": "ws",
                "pathname": "/socket.io/",
                "description": "The API server itself (Socket.IO over WebSocket, or HTTP long-polling)",
                "security": [{"$ref": "#/components/securitySchemes/accessToken"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas.schemas,
            "securitySchemes": {
                "accessToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "The access token, in the handshake's `auth: {token}`, else `Authorization: Bearer`, else "
                        "the accessToken cookie. Refused: connect_error with the code as its message "
                        f"({', '.join(catalogue.CONNECT_ERRORS)})."
                    ),
                }
            },
        },
    }


@bp.get("/asyncapi.json")
@documented("The AsyncAPI 3.0 document of the Socket.IO API", tags=("documentation",))
def asyncapi_document():
    document = current_app.extensions.get("dorami_asyncapi")
    if document is None:
        document = current_app.extensions["dorami_asyncapi"] = build_document()
    return jsonify(document)


asyncapi_document.__openapi__["envelope"] = False


def init_app(app: Flask) -> None:
    app.register_blueprint(bp, url_prefix="/api/v1")
