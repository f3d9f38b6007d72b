"""Request validation with pydantic. The same schemas feed the OpenAPI document: each
decorator records its schema on the view function, where the OpenAPI builder reads it.

Bodies must be JSON objects (415 otherwise), parse (400 INVALID_JSON otherwise) and match the
schema exactly: unknown fields are rejected, never silently written (400 VALIDATION_ERROR).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ConfigDict, ValidationError

from dorami_api.errors import ApiError

Model = TypeVar("Model", bound=BaseModel)


class Schema(BaseModel):
    """Base for request schemas: unknown fields are an error, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)


def validation_error(error: ValidationError) -> ApiError:
    fields = []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "body"
        fields.append({"field": location, "message": item["msg"], "type": item["type"]})
    return ApiError(400, "VALIDATION_ERROR", "The request is invalid", {"fields": fields})


def _unstorable_text(data: Any, location: str = "body") -> str | None:
    """The location of a string PostgreSQL cannot store (NUL character, lone surrogate), if any.
    Checked on every body and query before validation, so no such value ever reaches the database
    as a 500."""
    if isinstance(data, str):
        if "\x00" in data:
            return location
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            return location
        return None
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return None
    for key, value in items:
        found = _unstorable_text(key, location) if isinstance(key, str) else None
        found = found or _unstorable_text(value, f"{location}.{key}")
        if found:
            return found
    return None


def parse_model(model: type[Model], data: Any) -> Model:
    bad = _unstorable_text(data)
    if bad:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            "The request is invalid",
            {"fields": [{"field": bad, "message": "Text holds a character that cannot be stored", "type": "string"}]},
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_error(error) from None


def json_payload(optional: bool = False) -> Any:
    """The request's JSON body, with the envelope's errors for anything else."""
    raw = request.get_data(cache=True)
    if not raw:
        if optional:
            return {}
        if request.mimetype and request.mimetype != "application/json":
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json")
        raise ApiError(400, "INVALID_JSON", "A JSON body is required")
    if request.mimetype != "application/json":
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json")
    payload = request.get_json(silent=True)
    if payload is None:
        raise ApiError(400, "INVALID_JSON", "The body is not valid JSON")
    return payload


def body(model: type[Schema], optional: bool = False) -> Callable:
    """Validate the JSON body against `model` and pass it to the view as `body=`."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            payload = json_payload(optional)
            if not isinstance(payload, dict):
                raise ApiError(400, "VALIDATION_ERROR", "The body must be a JSON object")
            kwargs["body"] = parse_model(model, payload)
            return view(*args, **kwargs)

        _doc(wrapper)["body"] = model
        _doc(wrapper)["body_optional"] = optional
        return wrapper

    return decorator


def query(model: type[Schema]) -> Callable:
    """Validate the query string against `model` and pass it as `query=`."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            data = {key: request.args.get(key) for key in request.args}
            kwargs["query"] = parse_model(model, data)
            return view(*args, **kwargs)

        _doc(wrapper)["query"] = model
        return wrapper

    return decorator


def documented(
    summary: str,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    tags: tuple[str, ...] = (),
    auth: str | None = None,
    description: str | None = None,
) -> Callable:
    """Describe a route for the OpenAPI document (response schema, errors, security, and a
    longer description when the summary is not enough)."""

    def decorator(view: Callable) -> Callable:
        notes = _doc(view)
        notes.update(summary=summary, response=response, status=status, errors=errors, tags=tags)
        if description is not None:
            notes["description"] = description
        if auth is not None:  # else keep the level a guard recorded ("user", "admin")
            notes["auth"] = auth
        return view

    return decorator


def _doc(view: Callable) -> dict:
    if "__openapi__" not in view.__dict__:
        # functools.wraps copies __dict__, so a wrapper starts with its inner view's notes.
        view.__openapi__ = dict(getattr(view, "__openapi__", {}))
    return view.__openapi__
