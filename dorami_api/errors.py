"""ApiError and the handlers that render the error envelope on every failure path."""

from __future__ import annotations

import logging
from typing import Any

import redis
import sqlalchemy.exc
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from dorami_api.extensions import db
from dorami_api.web.responses import now_iso

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A failure the client should see: HTTP status, UPPER_SNAKE code, human message."""

    def __init__(self, status: int, code: str, message: str, details: Any = None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


class NotFound(ApiError):
    def __init__(self, code: str = "NOT_FOUND", message: str = "Resource not found", details=None):
        super().__init__(404, code, message, details)


class Conflict(ApiError):
    def __init__(self, code: str, message: str, details=None):
        super().__init__(409, code, message, details)


class Forbidden(ApiError):
    def __init__(self, code: str = "FORBIDDEN", message: str = "You are not allowed to do this"):
        super().__init__(403, code, message)


class Unauthorized(ApiError):
    def __init__(self, code: str = "UNAUTHORIZED", message: str = "Authentication required"):
        super().__init__(401, code, message)


# Redis down, hanging, still loading its data, or a master just demoted by a failover: whatever
# needed it cannot be served now, and the client should simply try again shortly.
REDIS_OUTAGE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.ReadOnlyError)
# PostgreSQL refusing or dropping connections (OperationalError; InterfaceError when a connection
# it dropped is used again), or no pooled connection freeing up in time.
DATABASE_OUTAGE = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError)
DEPENDENCY_OUTAGE = (*REDIS_OUTAGE, *DATABASE_OUTAGE)
RETRY_AFTER_SECONDS = 1


def service_unavailable(message: str = "A service this request needs is unavailable; try again shortly") -> ApiError:
    """503 SERVICE_UNAVAILABLE with Retry-After: a dependency is down (never a 500)."""
    return ApiError(503, "SERVICE_UNAVAILABLE", message, None, {"Retry-After": str(RETRY_AFTER_SECONDS)})


def service_busy(message: str) -> ApiError:
    """503 SERVICE_BUSY with Retry-After: too much at once right now, nothing wrong."""
    return ApiError(503, "SERVICE_BUSY", message, None, {"Retry-After": "1"})


# Codes for the HTTP errors werkzeug raises before our code runs.
_HTTP_CODES = {
    400: ("BAD_REQUEST", "The request could not be understood"),
    401: ("UNAUTHORIZED", "Authentication required"),
    403: ("FORBIDDEN", "You are not allowed to do this"),
    404: ("NOT_FOUND", "No such route"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed on this route"),
    413: ("PAYLOAD_TOO_LARGE", "Request body is too large"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json"),
    429: ("RATE_LIMIT_EXCEEDED", "Too many requests"),
    500: ("INTERNAL_SERVER_ERROR", "Internal server error"),
    503: ("SERVICE_UNAVAILABLE", "A dependency is unavailable"),
}


def error_body(status: int, code: str, message: str, details: Any = None) -> dict:
    body = {"success": False, "errorCode": code, "message": message, "timestamp": now_iso()}
    if details is not None:
        body["details"] = details
    return body


def error_response(status: int, code: str, message: str, details: Any = None, headers=None):
    response = jsonify(error_body(status, code, message, details))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        return error_response(error.status, error.code, error.message, error.details, error.headers)

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        status = error.code or 500
        code, message = _HTTP_CODES.get(status, ("HTTP_ERROR", error.name))
        headers = {}
        if status == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        return error_response(status, code, message, headers=headers)

    def handle_redis_outage(error: Exception):
        log.warning("redis unavailable: %s", type(error).__name__)
        return handle_api_error(service_unavailable())

    for outage in REDIS_OUTAGE:
        app.register_error_handler(outage, handle_redis_outage)

    def handle_database_unavailable(error: Exception):
        # A saturated or unreachable database answers 503 with Retry-After, never a bare 500: no
        # connection free in the pool in time, the server refusing connections, a statement or
        # lock wait cut short.
        log.warning("database busy or unavailable: %s", type(error).__name__)
        try:
            db.session.rollback()
        except Exception:  # the connection may be gone too; the session is removed at teardown
            log.debug("rollback after a database error failed", exc_info=True)
        return handle_api_error(service_unavailable("The service is busy; try again"))

    for outage in DATABASE_OUTAGE:
        app.register_error_handler(outage, handle_database_unavailable)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        if isinstance(error, HTTPException):  # pragma: no cover - routed above
            return handle_http_exception(error)
        log.exception("unhandled error")
        details = None
        if not app.config["DORAMI"].is_production and app.config["DORAMI"].env == "development":
            details = {"exception": type(error).__name__, "detail": str(error)[:500]}
        return error_response(500, "INTERNAL_SERVER_ERROR", "Internal server error", details)
