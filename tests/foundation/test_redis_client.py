"""A new Redis connection costs no lookup of redis-py's version in the package metadata: the
service's clients and the rate limiter's pool share the one DriverInfo each process makes
(redis_client.DRIVER_INFO), which a burst that grows a fresh worker's pools would otherwise pay
for on each of their connections."""

from __future__ import annotations

import pytest
import redis.utils

from dorami_api.redis_client import build_redis


@pytest.fixture
def version_lookup_fails(monkeypatch):
    def looked_up():
        raise AssertionError("a new connection asked importlib.metadata for redis-py's version")

    monkeypatch.setattr(redis.utils, "get_lib_version", looked_up)


def test_new_connections_do_not_look_up_the_library_version(app, version_lookup_fails):
    target = app.config["DORAMI"].redis
    for client in (build_redis(target), build_redis(target, socket_timeout=1.0, retry=None)):
        try:
            # Each client's pool is new: its first commands open new connections.
            answers = [client.ping(), client.set("dorami-test:driver-info", "1", ex=5)]
            assert answers == [True, True]
        finally:
            client.close()


def test_the_rate_limiters_new_connections_do_not_look_it_up_either(make_app, version_lookup_fails):
    """The limiter counts in a pool of its own: a fresh app's first limited request opens it."""
    app = make_app(RATELIMIT_ENABLED="true")
    response = app.test_client().get("/api/v1/products")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "X-RateLimit-Limit" in response.headers
