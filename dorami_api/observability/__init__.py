"""Observability (SPEC §8): logging with request ids, /metrics, and the graceful shutdown hooks.

Kept import-light: the gunicorn master imports this package (for the worker class) before the
metrics directory is known, so prometheus_client is only imported by init_app."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from dorami_api.observability import access, logging, metrics
    from dorami_api.observability.routes import bp

    logging.init_app(app)
    access.init_app(app)
    metrics.watch_database()
    app.register_blueprint(bp)
