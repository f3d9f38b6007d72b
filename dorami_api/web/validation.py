"""Request validation with pydantic. The same schemas feed the OpenAPI document: each
decorator records its schema on the view function, where the OpenAPI builder reads it.

Bodies must be JSON objects (415 otherwise), parse (400 INVALID_JSON otherwise) and match the
schema exactly: unknown fields are rejected, never silently written (400 VALIDATION_ERROR).

Types are strict, as the document states them: a JSON value is validated in pydantic's strict JSON
mode, so no boolean passes for an integer, no number for a date or a string, no string for a
number. JSON Schema counts 10.0 as the integer 10, and so do we. A query string is text: each
value the schema declares an integer (or a boolean) is read as one only when it is written as one
(`12`, `true`), then the same strict validation runs, so `?page=1.5` or `?page=<30 digits>` is a
400 from the declared type or bounds, never a 500.
"""

from __future__ import annotations

import functools
import json
import re
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


def _integral(data: Any) -> Any:
    """10.0 -> 10 throughout (JSON Schema's integers include 10.0; strict pydantic's do not)."""
    if isinstance(data, float) and data.is_integer():
        return int(data)
    if isinstance(data, dict):
        return {key: _integral(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_integral(value) for value in data]
    return data


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
        return model.model_validate_json(json.dumps(_integral(data)), strict=True)
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
            data = {key: _query_value(model, key, request.args.get(key)) for key in request.args}
            kwargs["query"] = parse_model(model, data)
            return view(*args, **kwargs)

        _doc(wrapper)["query"] = model
        return wrapper

    return decorator


_INTEGER_TEXT = re.compile(r"-?[0-9]{1,64}")
_BOOLEANS = {"true": True, "false": False}


@functools.cache
def _query_types(model: type[BaseModel]) -> dict[str, set[str]]:
    """The JSON types each query field of `model` declares (its JSON Schema is the source)."""
    types = {}
    for name, prop in model.model_json_schema(mode="validation").get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        types[name] = {option.get("type") for option in options}
    return types


def _query_value(model: type[BaseModel], key: str, text: str) -> Any:
    """A query value as the JSON value it is written as: an integer or boolean field gets one only
    when the text spells one; anything else stays text, and strict validation refuses it."""
    declared = _query_types(model).get(key, set())
    if "integer" in declared and _INTEGER_TEXT.fullmatch(text):
        return int(text)
    if "boolean" in declared and text in _BOOLEANS:
        return _BOOLEANS[text]
    return text


def documented(
    summary: str,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    tags: tuple[str, ...] = (),
    auth: str | None = None,
    description: str | None = None,
    media_type: str = "application/json",
    links: dict[str, dict] | None = None,
) -> Callable:
    """Describe a route for the OpenAPI document (response schema and media type, errors,
    security, a longer description when the summary is not enough, and OpenAPI links from its
    success answer to the operations that take what it returns, by operationId)."""

    def decorator(view: Callable) -> Callable:
        notes = _doc(view)
        notes.update(summary=summary, response=response, status=status, errors=errors, tags=tags)
        notes["media_type"] = media_type
        if links:
            notes["links"] = links
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
