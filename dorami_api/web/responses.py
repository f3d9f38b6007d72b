"""The success envelope and the helpers every route uses to build it."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from flask import current_app, jsonify
from flask.wrappers import Response

from dorami_api.db.types import utcnow


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a Z, the form every time travels in."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(utcnow())


def ok(data: Any = None, status: int = 200):
    return jsonify({"success": True, "data": data, "timestamp": now_iso()}), status


def data_json(data: Any) -> str:
    """`data` serialised as ok() would send it, for ok_serialised() (cached bodies)."""
    return current_app.json.dumps(data, separators=(",", ":"))


def ok_serialised(data: str, status: int = 200) -> Response:
    """ok() for a `data` already serialised by data_json(): the same envelope, a fresh timestamp."""
    body = f'{{"success":true,"data":{data},"timestamp":"{now_iso()}"}}\n'
    return current_app.response_class(body, status=status, mimetype=current_app.json.mimetype)


def created(data: Any):
    return ok(data, 201)


def no_content():
    return "", 204


def page_of(items: list, page: int, limit: int, total: int) -> dict:
    return {
        "items": items,
        "page": page,
        "limit": limit,
        "total": total,
        "totalPages": math.ceil(total / limit) if limit else 0,
    }
