"""Liveness and readiness probes. Both answer outside the envelope, as the
deployment guide shows, and are never rate limited."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from dorami_api.concurrency import call_with_deadline
from dorami_api.extensions import db, redis_store
from dorami_api.realtime import server as socket_server
from dorami_api.web.responses import now_iso

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

# Each dependency gets this long; both are checked one after the other, so the probe
# answers within 2 s even when both hang.
CHECK_SECONDS = 0.9


@bp.get("/live")
def live():
    return jsonify({"status": "ok", "timestamp": now_iso()})


def _database_up() -> None:
    # alembic_version: ready means migrated, not just reachable.
    with db.engine.connect() as connection:
        connection.execute(sa.text("SELECT version_num FROM alembic_version")).first()


def _redis_up() -> None:
    """Redis answers, and cross-process delivery works: every message-queue listener of this
    instance is subscribed (after an outage, Redis answers before the listeners are back)."""
    redis_store.health_client.ping()
    if not socket_server.state("listeners").every_listener_subscribed():
        raise ConnectionError("a message-queue listener of this instance is not subscribed yet")


def _status(check) -> dict:
    app = current_app._get_current_object()

    def run_in_app() -> None:  # the check may run in a helper thread
        with app.app_context():
            check()

    try:
        call_with_deadline(run_in_app, CHECK_SECONDS)
        return {"status": "up"}
    except Exception as error:  # any failure means down; the reason goes to the log only
        log.warning("readiness check %s failed: %s", check.__name__, type(error).__name__)
        return {"status": "down"}


@bp.get("/ready")
def ready():
    info = {"database": _status(_database_up), "redis": _status(_redis_up)}
    healthy = all(item["status"] == "up" for item in info.values())
    body = {"status": "ok" if healthy else "error", "info": info}
    if not healthy:
        body["error"] = {name: item for name, item in info.items() if item["status"] != "up"}
    return jsonify(body), 200 if healthy else 503
