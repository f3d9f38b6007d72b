"""Fixtures: the app, an HTTP client, an isolated database per test and a clean Redis — all on
real PostgreSQL and real Redis."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from dorami_api import create_app
from dorami_api.config import Config
from dorami_api.extensions import db
from dorami_api.realtime import timers
from dorami_api.server import shutdown
from tests.support import services
from tests.support.server import start_gunicorn
from tests.support.sockets import Viewer

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


@pytest.fixture(scope="session")
def database_url():
    url = services.create_database()
    app = create_app(Config.from_env({"APP_ENV": "test", "DATABASE_URL": url, "JWT_SECRET": TEST_JWT_SECRET}))
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    services.drop_database(url)


@pytest.fixture(scope="session")
def redis_url():
    url = services.claim_redis_database()
    yield url
    services.release_redis_database(url)


@pytest.fixture(scope="session")
def socketio_channel():
    return f"dorami-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def event_log(tmp_path_factory) -> Path:
    """Where every server process of this run appends the socket events it emits and the
    acknowledgements it sends (realtime/broadcast.py); tests/contract checks them all against
    the AsyncAPI document."""
    return tmp_path_factory.getbasetemp() / "socket-events.jsonl"


@pytest.fixture
def app_env(database_url, redis_url, socketio_channel, event_log) -> dict:
    """The environment of the app under test; server-process tests pass it to gunicorn."""
    return {
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "SOCKETIO_CHANNEL": socketio_channel,
        "LOG_LEVEL": "WARNING",
        "ADMIN_EMAILS": "admin@dorami.test",
        "CORS_ORIGINS": "http://localhost:3000,https://shop.dorami.test",
        # Functional tests fire requests faster than any person; the rate-limit tests
        # (tests/auth/test_rate_limits.py) switch limits back on with RATELIMIT_ENABLED=true.
        "RATELIMIT_ENABLED": "false",
        "DORAMI_EVENT_LOG": str(event_log),
    }


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def clean_state(database_url, redis_url):
    _truncate_all(database_url)
    services.flush_redis(redis_url)


@pytest.fixture
def make_app(app_env, clean_state):
    """Build an app with extra environment on top of the test one. `make_app.each(setup)` runs
    setup(app) on every app of the test, those built already and those to come."""
    apps, setups = [], []

    def build(**env):
        app = create_app(Config.from_env({**app_env, **env}))
        apps.append(app)
        for setup in setups:
            setup(app)
        return app

    def each(setup) -> None:
        setups.append(setup)
        for app in apps:
            setup(app)

    build.each = each
    yield build
    for app in apps:
        shutdown.notify_shutdown(app)  # what its coalescers and pacers still hold goes out now
    # A timer left sleeping would read the database during the next test's TRUNCATE (a deadlock).
    left = timers.finish_threads(10)
    for app in apps:
        with app.app_context():
            db.session.remove()
        shutdown.close_database(app)  # every pool of the app, the order counter's too
    assert not left, f"timer threads outlived the test: {left}"


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(app_env, clean_state, tmp_path):
    """Start real gunicorn servers (production worker class); all are stopped at the end."""
    servers = []

    def start(workers: int = 1, **env):
        server = start_gunicorn({**app_env, **env}, tmp_path, workers=workers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# --- sockets: the realtime, chat and presence tests ---------------------------------------------
@pytest.fixture
def connect():
    """connect(url, token=..., namespaces=..., transports=...) -> Viewer, all closed at the end."""
    viewers = []

    def open_viewer(url, **kwargs) -> Viewer:
        viewer = Viewer(url, **kwargs)
        viewers.append(viewer)
        return viewer

    yield open_viewer
    for viewer in viewers:
        viewer.close()
