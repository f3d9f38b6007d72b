"""Dorami API: the application factory. This file is the table of contents of the service."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from dorami_api.config import Config

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: Config | None = None, **overrides) -> Flask:
    config = config or Config.from_env()
    app = Flask(__name__)
    _configure(app, config, overrides)

    # Imported here rather than at the top: gunicorn's master reads dorami_api.config (so runs
    # this file) and must not load the app's modules before each worker's gevent patching.
    from dorami_api import errors, models  # noqa: F401 - models registers every table
    from dorami_api.auctions import batches as auction_batches
    from dorami_api.auctions import ending as auction_ending
    from dorami_api.auctions import events as auction_events
    from dorami_api.auctions import sockets as auctions  # noqa: F401 - registers the auction:bid handler on /
    from dorami_api.auth import csrf, kakao, sessions, tokens
    from dorami_api.chat import service as chat  # also registers the /chat socket handlers
    from dorami_api.db import after_commit, connection_check, read_only, transactions
    from dorami_api.extensions import db, migrate, redis_store
    from dorami_api.observability import access, logging, metrics
    from dorami_api.observability.routes import bp as metrics_bp
    from dorami_api.orders import admission, notifications, numbering
    from dorami_api.presence import service as presence
    from dorami_api.products import events, flash_sale, list_cache
    from dorami_api.realtime import (
        commerce,  # noqa: F401 - registers the commerce socket handlers
        connections,
        control,
        operations,
        revocation,
        server,
        socket_limits,
    )
    from dorami_api.server import shutdown
    from dorami_api.streaming import live_status
    from dorami_api.web import rate_limits, security

    # What the app keeps while it runs lives in app.extensions, made below by each init_app: no
    # module global remembers an app, so two apps of one process (tests) share nothing.
    shutdown.init_app(app)  # first: the graceful-shutdown steps the others register
    logging.init_app(app)
    access.init_app(app)
    metrics.watch_database()  # a listener on every SQLAlchemy engine
    app.register_blueprint(metrics_bp)
    errors.register_error_handlers(app)
    db.init_app(app)
    after_commit.init_app(app)  # listeners on every SQLAlchemy session
    read_only.init_app(app)  # a listener on every connection pool
    connection_check.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    redis_store.init_app(app)
    tokens.init_app(app)
    sessions.init_app(app)  # who hears a revocation
    rate_limits.init_app(app)
    csrf.init_app(app)
    kakao.init_app(app)
    # The socket layer: the server first, then each part of its state (realtime/server.py) and the
    # listeners told of every socket that comes and goes, in the order they run.
    server.init_app(app)
    socket_limits.init_app(app)
    connections.init_app(app)
    control.init_app(app)
    revocation.init_app(app)
    chat.init_app(app)
    presence.init_app(app)
    operations.init_app(app)
    live_status.init_app(app)
    security.init_app(app)  # after realtime: ProxyFix must wrap the Socket.IO middleware too
    transactions.init_app(app)
    flash_sale.init_app(app)
    list_cache.init_app(app)  # listeners on every SQLAlchemy session
    admission.init_app(app)
    numbering.init_app(app)
    # Broadcasts still waiting (coalesced product updates, paced purchase notices) go out at a
    # graceful shutdown.
    events.init_app(app)
    notifications.init_app(app)
    auction_events.init_app(app)  # coalesced auction:updated, flushed at a graceful shutdown too
    auction_ending.init_app(app)  # the auction-end timers this process watches
    auction_batches.init_app(app)  # the bids of each auction decided together, per process
    if config.embedded_database:
        _migrate_embedded_database(app)

    from dorami_api import asyncapi, openapi
    from dorami_api.auctions.routes import bp as auctions_bp
    from dorami_api.auth.routes import bp as auth_bp
    from dorami_api.cart.routes import bp as cart_bp
    from dorami_api.demo.cli import demo as demo_cli
    from dorami_api.health.routes import bp as health_bp
    from dorami_api.liveroom import init_app as init_liveroom
    from dorami_api.orders.admin_routes import bp as admin_orders_bp
    from dorami_api.orders.routes import bp as orders_bp
    from dorami_api.products.routes import bp as products_bp
    from dorami_api.settings import routes as settings_routes
    from dorami_api.streaming.hooks import bp as streaming_hooks_bp
    from dorami_api.streaming.routes import bp as streaming_bp
    from dorami_api.users.admin_routes import bp as admin_users_bp
    from dorami_api.users.cli import users as users_cli
    from dorami_api.users.routes import bp as users_bp
    from dorami_api.waitlist.routes import bp as waitlist_bp

    app.register_blueprint(health_bp, url_prefix="/api/v1/health")
    app.register_blueprint(auth_bp, url_prefix="/api/v1/auth")
    app.register_blueprint(users_bp, url_prefix="/api/v1/users")
    app.register_blueprint(admin_users_bp, url_prefix="/api/v1/admin/users")
    app.register_blueprint(streaming_bp, url_prefix="/api/v1/streaming")
    app.register_blueprint(streaming_hooks_bp, url_prefix="/api/v1/streaming/hooks")
    app.register_blueprint(products_bp, url_prefix="/api/v1/products")
    app.register_blueprint(cart_bp, url_prefix="/api/v1/cart")
    app.register_blueprint(orders_bp, url_prefix="/api/v1/orders")
    app.register_blueprint(admin_orders_bp, url_prefix="/api/v1/admin/orders")
    app.register_blueprint(waitlist_bp, url_prefix="/api/v1/waitlist")
    app.register_blueprint(settings_routes.public_bp, url_prefix="/api/v1/config")
    app.register_blueprint(settings_routes.admin_bp, url_prefix="/api/v1/admin/config")
    # /auctions, and /streaming/streams/{id}/auctions (so streaming does not import auctions)
    app.register_blueprint(auctions_bp, url_prefix="/api/v1")
    app.cli.add_command(users_cli)  # flask users create-admin | set-role | list-admins
    app.cli.add_command(demo_cli)  # flask demo seed | audience
    init_liveroom(app)  # the development page at /
    asyncapi.init_app(app)  # the socket events' document, from the catalogue the handlers filled
    openapi.init_app(app)  # last: documents every route registered above
    return app


def _configure(app: Flask, config: Config, overrides: dict) -> None:
    app.config.update(
        DORAMI=config,
        SECRET_KEY=config.jwt_secret,
        MAX_CONTENT_LENGTH=config.max_content_length,
        SQLALCHEMY_DATABASE_URI=config.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(config),
        JSON_SORT_KEYS=False,
        TESTING=config.env == "test",
    )
    app.json.sort_keys = False
    app.config.update(overrides)


def _engine_options(config: Config) -> dict:
    if config.database_url.startswith("sqlite"):
        # The embedded file is shared by the dev server's greenlets; wait on its lock briefly.
        return {"connect_args": {"timeout": 15, "check_same_thread": False}}
    return {
        "pool_size": config.db_pool_size,
        "max_overflow": config.db_max_overflow,
        # Idle connections are pinged before use (db/connection_check.py), not every checkout.
        "pool_pre_ping": False,
        "pool_recycle": 1800,
        "pool_timeout": 10,
        "connect_args": {
            "connect_timeout": 5,
            "application_name": "dorami-api",
            # A server that vanishes without closing the socket is noticed instead of hanging.
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    }


def _migrate_embedded_database(app: Flask) -> None:
    """The embedded SQLite file is created and migrated on first start."""
    from flask_migrate import upgrade

    database_file = Path(app.config["DORAMI"].database_url.removeprefix("sqlite:///"))
    database_file.parent.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
