"""GET /metrics (Prometheus text format), optionally behind METRICS_TOKEN. Blueprint "metrics"
is exempt from the HTTP rate limits, like "health"."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request

from dorami_api.auth.tokens import bearer_token
from dorami_api.errors import ApiError
from dorami_api.extensions import redis_store
from dorami_api.observability import metrics
from dorami_api.observability.memory import rss_bytes

bp = Blueprint("metrics", __name__)


def _authorised(token: str) -> bool:
    credentials = bearer_token(request.headers.get("Authorization", "")) or ""
    return hmac.compare_digest(credentials.encode(), token.encode())


def _redis_answers() -> bool:
    try:
        return bool(redis_store.health_client.ping())
    except Exception:  # down, hanging (short timeouts) or not initialised
        return False


@bp.get("/metrics")
def scrape():
    token = current_app.config["DORAMI"].metrics_token
    if token and not _authorised(token):
        raise ApiError(401, "UNAUTHORIZED", "A valid metrics token is required", headers={"WWW-Authenticate": "Bearer"})
    # Point-in-time values are refreshed by whichever worker answers; other workers refresh their
    # own memory figure on the memory guard's schedule.
    metrics.record_redis_up(_redis_answers())
    metrics.record_memory(rss_bytes())
    body, content_type = metrics.render()
    return Response(body, status=200, content_type=content_type)
