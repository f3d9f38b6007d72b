"""Fault drills: real gunicorn workers, real Socket.IO clients, and a dependency of their own that
the drill kills, fails over or cuts — never the shared Redis or PostgreSQL."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.support.outages import CuttableProxy, RedisProcess, SentinelSet
from tests.support.services import postgres_admin_url


@pytest.fixture
def own_redis(tmp_path):
    server = RedisProcess(tmp_path, "redis").start()
    yield server
    server.stop()


@pytest.fixture
def sentinel_set(tmp_path):
    servers = SentinelSet(tmp_path).start()
    yield servers
    servers.stop()


@pytest.fixture
def postgres_proxy():
    target = urlparse(postgres_admin_url())
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
    yield proxy
    proxy.stop()
