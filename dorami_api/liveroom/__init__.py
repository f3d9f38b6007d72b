"""The development live-room page (`GET /`): sign in, watch a stream's room, buy, see the order.
Never served in production, where `/` stays a 404."""

from __future__ import annotations

from flask import Flask

from dorami_api.liveroom.routes import bp


def init_app(app: Flask) -> None:
    if not app.config["DORAMI"].is_production:
        app.register_blueprint(bp)
