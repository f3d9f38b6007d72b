"""The OpenAPI 3.1 document of every route, built from what the routes themselves
record: the pydantic schemas that validate bodies and queries (@body, @query), the response
models and errors (@documented), and the auth level the guards mark (login_required,
admin_required). Served at /api/v1/openapi.json; Swagger UI at /api/v1/docs outside production,
every file of it served by the app from the installed flask-swagger-ui package (works offline).

The document is built on first request, from app.url_map, so it always lists every route
registered — a route without notes still appears, with a generic description.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, send_from_directory
from pydantic import BaseModel
from werkzeug.routing import Rule

from dorami_api.errors import NotFound

bp = Blueprint("openapi", __name__)
REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"<(?:(?P<converter>[a-zA-Z_]+)(?:\([^)]*\))?:)?(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>")
_METHODS = ("get", "post", "put", "patch", "delete")

ERROR_ENVELOPE = {
    "type": "object",
    "description": "Every error, on every path",
    "required": ["success", "errorCode", "message", "timestamp"],
    "properties": {
        "success": {"const": False},
        "errorCode": {"type": "string", "pattern": "^[A-Z0-9_]+$"},
        "message": {"type": "string"},
        "details": {},
        "timestamp": {"type": "string", "format": "date-time"},
    },
    "additionalProperties": False,
}

ERROR_TEXT = {
    400: "Malformed request or validation error (VALIDATION_ERROR, INVALID_JSON, ...)",
    401: "Not authenticated (UNAUTHORIZED, TOKEN_EXPIRED, TOKEN_REVOKED, ACCOUNT_SUSPENDED)",
    403: "Authenticated but not allowed (FORBIDDEN, CSRF_TOKEN_MISSING, CSRF_TOKEN_INVALID, ...)",
    404: "Unknown resource",
    409: "State conflict (sold out, insufficient stock, wrong state, duplicate)",
    413: "Body over MAX_CONTENT_LENGTH",
    415: "Body is not application/json",
    429: "Rate limited (see Retry-After)",
    500: "Internal error (no details outside development)",
    503: "A dependency is unavailable",
}

SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "Access token"},
    "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": "accessToken",
        "description": "HttpOnly access-token cookie; unsafe methods also need X-CSRF-Token",
    },
    "mediaHookSecret": {"type": "apiKey", "in": "header", "name": "X-Media-Hook-Secret"},
    "mediaHookSecretQuery": {"type": "apiKey", "in": "query", "name": "secret"},
}
SIGNED_IN = [{"bearerAuth": []}, {"cookieAuth": []}]
SECURITY = {
    "user": SIGNED_IN,
    "admin": SIGNED_IN,
    "optional": [*SIGNED_IN, {}],
    "media-hook": [{"mediaHookSecret": []}, {"mediaHookSecretQuery": []}],
}

_CONVERTER_SCHEMAS = {
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number"},
    "path": {"type": "string", "minLength": 1},
    "default": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
}


# What web.validation refuses in any text before a schema runs: a NUL, which PostgreSQL cannot
# store (half of a surrogate pair, refused too, cannot even travel as UTF-8, and a pattern cannot
# name it portably); and what Schema's trimming makes of a blank string.
_STORABLE = r"[^\x00]"
_STORABLE_TEXT = f"^{_STORABLE}*$"
_STORABLE_NOT_BLANK = rf"^{_STORABLE}*[^\s\x00]{_STORABLE}*$"


def _admits_null(schema: dict) -> bool:
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return any(_admits_null(option) for option in options)
    return schema.get("type") in ("null", None) and "$ref" not in schema and "enum" not in schema


def _request_text(schema: Any, trimmed: bool) -> None:
    """State on every free-text request string the rules web.validation applies to all of them:
    no unstorable character, and (the Schema trims) a required string is not blank."""
    if isinstance(schema, list):
        for item in schema:
            _request_text(item, trimmed)
        return
    if not isinstance(schema, dict):
        return
    if "default" in schema and schema["default"] is None and not _admits_null(schema):
        # Optional but not nullable (`name: str = None`): left out is unchanged, null is a 400.
        del schema["default"]
    if schema.get("type") == "string" and not {"pattern", "enum", "const", "format"} & schema.keys():
        blank_refused = trimmed and schema.get("minLength", 0) >= 1
        schema["pattern"] = _STORABLE_NOT_BLANK if blank_refused else _STORABLE_TEXT
    for value in schema.values():
        _request_text(value, trimmed)


class _Components:
    """Collects model schemas under components/schemas, hoisting pydantic's $defs. A model that
    validates requests is named by its class and appears once, in its validation form."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {"ErrorEnvelope": ERROR_ENVELOPE}

    def _schema(self, model: type[BaseModel], mode: str) -> dict:
        schema = model.model_json_schema(ref_template=REF, mode=mode)
        if mode == "validation":
            _request_text(schema, bool(model.model_config.get("str_strip_whitespace")))
        for name, definition in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, definition)
        return schema

    def ref(self, model: type[BaseModel], mode: str = "serialization") -> dict:
        self.schemas.setdefault(model.__name__, self._schema(model, mode))
        return {"$ref": REF.format(model=model.__name__)}

    def inline(self, model: type[BaseModel], mode: str = "validation") -> dict:
        return self._schema(model, mode)


def _envelope(data: dict) -> dict:
    return {
        "type": "object",
        "required": ["success", "data", "timestamp"],
        "properties": {
            "success": {"const": True},
            "data": data,
            "timestamp": {"type": "string", "format": "date-time"},
        },
        "additionalProperties": False,
    }


def _error(status: int, also: dict | None = None) -> dict:
    schema: dict = {"$ref": REF.format(model="ErrorEnvelope")}
    if also is not None:
        schema = {"anyOf": [schema, also]}
    return {"description": ERROR_TEXT.get(status, "Error"), "content": {"application/json": {"schema": schema}}}


def _without_null(schema: dict) -> dict:
    """Query parameters cannot be null: drop pydantic's `| None` branch."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [option for option in options if option.get("type") != "null"]
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


def _query_parameters(model: type[BaseModel], components: _Components) -> list[dict]:
    schema = components.inline(model)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(prop)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            parameter["description"] = prop["description"]
        parameters.append(parameter)
    return parameters


def openapi_path(rule: Rule) -> tuple[str, list[dict]]:
    parameters = []

    def replace(match: re.Match) -> str:
        converter, name = match.group("converter") or "default", match.group("name")
        schema = _CONVERTER_SCHEMAS.get(converter)
        if schema is None:  # an app's own converter: its regex is the whole promise
            regex = rule._converters[name].regex if name in getattr(rule, "_converters", {}) else None
            schema = {"type": "string", "pattern": f"^{regex}$"} if regex else _CONVERTER_SCHEMAS["default"]
        parameters.append({"name": name, "in": "path", "required": True, "schema": dict(schema)})
        return "{" + name + "}"

    return _PARAM.sub(replace, rule.rule), parameters


def _operation(rule: Rule, method: str, view, components: _Components) -> dict:
    notes: dict = getattr(view, "__openapi__", {}) or {}
    path, parameters = openapi_path(rule)
    operation: dict[str, Any] = {
        "operationId": f"{rule.endpoint.replace('.', '_')}_{method}",
        "summary": notes.get("summary") or (view.__doc__ or rule.endpoint).strip().splitlines()[0],
        "tags": list(notes.get("tags") or [rule.endpoint.split(".")[0]]),
    }
    if notes.get("query") is not None:
        parameters.extend(_query_parameters(notes["query"], components))
    if parameters:
        operation["parameters"] = parameters

    if notes.get("body") is not None:
        operation["requestBody"] = {
            "required": not notes.get("body_optional", False),
            "content": {"application/json": {"schema": components.ref(notes["body"], mode="validation")}},
        }
    elif notes.get("bodies"):
        operation["requestBody"] = {
            "required": True,
            "content": {
                mime: {"schema": components.ref(model, "validation")} for mime, model in notes["bodies"].items()
            },
        }

    auth = notes.get("auth")
    operation["security"] = SECURITY.get(auth, [])  # [] = public
    if auth == "admin":
        operation["x-required-role"] = "ADMIN"
        operation["description"] = "Administrators only."
    if notes.get("description"):
        operation["description"] = notes["description"]

    if not notes:  # a route nobody described: listed, without a promise about its body
        operation["responses"] = {"default": {"description": "See the route's module documentation"}}
        return operation

    responses: dict[str, Any] = {}
    status = int(notes.get("status") or 200)
    model = notes.get("response")
    enveloped = notes.get("envelope", True)
    if status == 204:
        responses["204"] = {"description": "Done; no body"}
    else:
        data = components.ref(model) if model is not None else {}
        schema = _envelope(data) if enveloped else data
        media_type = notes.get("media_type", "application/json")
        if media_type != "application/json":
            schema = {"type": "string"}
        responses[str(status)] = {"description": "Success", "content": {media_type: {"schema": schema}}}
    if notes.get("links"):
        responses[str(status)]["links"] = dict(notes["links"])

    errors = set(notes.get("errors") or ())
    if notes.get("body") is not None or notes.get("bodies"):
        errors |= {400, 413, 415}
    if notes.get("query") is not None:
        errors.add(400)
    if auth in ("user", "admin"):
        errors |= {401, 403}
    if any(p["in"] == "path" for p in parameters):
        errors.add(404)
    errors |= {429, 500}
    alternative = components.ref(model) if (model is not None and not enveloped) else None
    for code in sorted(errors):
        responses[str(code)] = _error(code, alternative if code in (400, 403) else None)
    operation["responses"] = responses
    return operation


def _link_created_resources(paths: dict[str, dict]) -> None:
    """OpenAPI links from each create (201 on P) to the operations on P/{id}: clients and
    stateful test tools learn that the created `data.id` is the path parameter."""
    for path, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        links = {}
        for other_path, other_item in paths.items():
            match = re.fullmatch(re.escape(path) + r"/\{([a-z_]+)\}(/.*)?", other_path)
            if not match:
                continue
            for operation in other_item.values():
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {match.group(1): "$response.body#/data/id"},
                }
        if links:
            created["links"] = {**links, **created.get("links", {})}


def build_document(app: Flask) -> dict:
    components = _Components()
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        # The API only: not static files, nor operations endpoints such as /metrics (Prometheus text).
        if rule.endpoint == "static" or not rule.rule.startswith("/api/v1/"):
            continue
        view = app.view_functions[rule.endpoint]
        path, _ = openapi_path(rule)
        for method in _METHODS:
            if method.upper() in (rule.methods or ()):
                paths.setdefault(path, {})[method] = _operation(rule, method, view, components)
    _link_created_resources(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Dorami API",
            "version": "1.0.0",
            "description": "Live-commerce backend. Success: {success: true, data, timestamp}; "
            "errors: ErrorEnvelope. Socket.IO at /socket.io/ (not described here).",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": components.schemas, "securitySchemes": SECURITY_SCHEMES},
    }


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of every route."""
    document = current_app.extensions.get("dorami_openapi")
    if document is None:
        document = current_app.extensions["dorami_openapi"] = build_document(current_app)
    return jsonify(document)


# Swagger UI's own files (swagger-ui-bundle.js, swagger-ui.css, ...), as the package ships them.
SWAGGER_UI_FILES = str(resources.files("flask_swagger_ui") / "dist")
SWAGGER_UI_ASSETS = "/api/v1/docs/assets"
# validatorUrl null: Swagger UI would otherwise send the document to an outside validator.
SWAGGER_UI_START = 'SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#swagger-ui", validatorUrl: null});'
SWAGGER_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dorami API</title>
<link rel="stylesheet" href="{SWAGGER_UI_ASSETS}/index.css">
<link rel="stylesheet" href="{SWAGGER_UI_ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{SWAGGER_UI_ASSETS}/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="{SWAGGER_UI_ASSETS}/swagger-ui-bundle.js"></script>
<script>{SWAGGER_UI_START}</script>
</body></html>"""
# The API's own CSP is `default-src 'none'`; this page runs Swagger UI from this origin, plus the
# one inline start script, allowed by its hash. Swagger UI sets inline styles on its elements.
_START_HASH = base64.b64encode(hashlib.sha256(SWAGGER_UI_START.encode()).digest()).decode()
SWAGGER_PAGE_CSP = (
    f"default-src 'none'; script-src 'self' 'sha256-{_START_HASH}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


def _outside_production() -> None:
    if current_app.config["DORAMI"].is_production:
        raise NotFound()


@bp.get("/docs")
def swagger_ui():
    """Swagger UI (outside production)."""
    _outside_production()
    response = current_app.response_class(SWAGGER_PAGE, mimetype="text/html")
    response.headers["Content-Security-Policy"] = SWAGGER_PAGE_CSP
    return response


@bp.get("/docs/assets/<path:name>")
def swagger_ui_asset(name: str):
    """One file of Swagger UI (outside production); unknown names are 404."""
    _outside_production()
    return send_from_directory(SWAGGER_UI_FILES, name, max_age=3600)


openapi_document.__openapi__ = {
    "summary": "This OpenAPI 3.1 document",
    "response": None,
    "envelope": False,
    "tags": ("documentation",),
}
swagger_ui.__openapi__ = {
    "summary": "Swagger UI (not in production)",
    "media_type": "text/html",
    "errors": (404,),
    "tags": ("documentation",),
}
swagger_ui_asset.__openapi__ = {
    "summary": "A file of Swagger UI: script, stylesheet or icon (not in production)",
    "media_type": "*/*",  # each file's own type
    "errors": (404,),
    "tags": ("documentation",),
}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp, url_prefix="/api/v1")
