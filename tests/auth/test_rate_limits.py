"""HTTP rate limits: per user when signed in, per IP otherwise, the stricter auth tier,
a per-account budget of failed logins, 429 in the envelope with Retry-After, limits shared by
every worker through Redis."""

from __future__ import annotations

import time

import redis
import requests

from tests.support.auth import PASSWORD, create_user, signed_in

LIMITED = {"RATELIMIT_ENABLED": "true", "PROXY_HOPS": "1"}


def _from(ip: str) -> dict:
    return {"X-Forwarded-For": ip}


def _assert_limited(response):
    body = response.get_json()
    assert response.status_code == 429
    assert body["success"] is False and body["errorCode"] == "RATE_LIMIT_EXCEEDED"
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1 and body["details"]["retryAfter"] == retry_after
    return retry_after


def test_the_auth_tier_limits_each_ip(make_app):
    client = make_app(**LIMITED, RATELIMIT_AUTH="3/minute").test_client(use_cookies=False)
    answers = [client.post("/api/v1/auth/refresh", headers=_from("198.51.100.1")) for _ in range(3)]
    assert [r.status_code for r in answers] == [401, 401, 401]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == "3" and "Retry-After" not in answers[0].headers
    retry_after = _assert_limited(client.post("/api/v1/auth/refresh", headers=_from("198.51.100.1")))
    assert retry_after <= 60
    assert client.post("/api/v1/auth/refresh", headers=_from("198.51.100.2")).status_code == 401  # another IP


def test_failed_logins_are_limited_per_account_whatever_the_ip(make_app):
    app = make_app(**LIMITED, LOGIN_FAILURE_LIMIT="3/15 minutes")
    client = app.test_client(use_cookies=False)
    create_user(app, email="target@dorami.test", password=PASSWORD)
    create_user(app, email="bystander@dorami.test", password=PASSWORD)
    for n in range(3):
        wrong = client.post(
            "/api/v1/auth/login",
            json={"email": "target@dorami.test", "password": "guess-number-" + str(n)},
            headers=_from(f"203.0.113.{n}"),
        )
        assert wrong.status_code == 401
    locked = client.post(
        "/api/v1/auth/login", json={"email": "TARGET@dorami.test", "password": PASSWORD}, headers=_from("203.0.113.50")
    )
    _assert_limited(locked)
    bystander = client.post(
        "/api/v1/auth/login",
        json={"email": "bystander@dorami.test", "password": PASSWORD},
        headers=_from("203.0.113.50"),
    )
    assert bystander.status_code == 200


def test_successful_logins_do_not_use_the_failure_budget(make_app):
    app = make_app(**LIMITED, LOGIN_FAILURE_LIMIT="2/15 minutes")
    client = app.test_client(use_cookies=False)
    create_user(app, email="regular@dorami.test", password=PASSWORD)
    for n in range(4):
        response = client.post(
            "/api/v1/auth/login",
            json={"email": "regular@dorami.test", "password": PASSWORD},
            headers=_from(f"192.0.2.{n}"),
        )
        assert response.status_code == 200


def test_signed_in_users_have_their_own_budget_which_resets(make_app):
    app = make_app(**LIMITED, RATELIMIT_DEFAULT="3/2 seconds")
    client = app.test_client(use_cookies=False)
    _, alice = signed_in(app)
    _, bob = signed_in(app)
    for _ in range(3):
        assert client.get("/api/v1/users/me", headers=alice).status_code == 200
    retry_after = _assert_limited(client.get("/api/v1/users/me", headers=alice))
    assert client.get("/api/v1/users/me", headers=bob).status_code == 200  # same IP, other user
    for _ in range(5):  # probes and preflights are never limited
        assert client.get("/api/v1/health/live").status_code == 200
        assert client.options("/api/v1/users/me", headers={"Origin": "http://localhost:3000"}).status_code == 200
    time.sleep(retry_after + 0.1)
    assert client.get("/api/v1/users/me", headers=alice).status_code == 200


def test_anonymous_callers_are_limited_per_ip(make_app):
    client = make_app(**LIMITED, RATELIMIT_DEFAULT="2/minute").test_client(use_cookies=False)
    assert [client.get("/api/v1/auth/csrf", headers=_from("192.0.2.7")).status_code for _ in range(2)] == [200, 200]
    _assert_limited(client.get("/api/v1/auth/csrf", headers=_from("192.0.2.7")))
    assert client.get("/api/v1/auth/csrf", headers=_from("192.0.2.8")).status_code == 200


def test_limits_can_be_switched_off(app):
    client = app.test_client(use_cookies=False)  # the test environment has RATELIMIT_ENABLED=false
    answers = [client.post("/api/v1/auth/refresh") for _ in range(15)]
    assert {r.status_code for r in answers} == {401}
    assert "X-RateLimit-Limit" not in answers[0].headers


def test_limits_hold_across_workers(live_server, redis_url):
    server = live_server(workers=2, RATELIMIT_ENABLED="true", RATELIMIT_AUTH="4/minute")
    statuses = []
    for _ in range(10):  # a new connection each time, so that both workers take turns accepting
        response = requests.post(f"{server.url}/api/v1/auth/refresh", headers={"Connection": "close"}, timeout=10)
        statuses.append(response.status_code)
    assert statuses == [401] * 4 + [429] * 6
    keys = redis.Redis.from_url(redis_url).keys("*dorami-rl*")
    assert keys, "the counters live in Redis, shared by both workers"


def test_the_limiter_storage_follows_the_redis_setting():
    from dorami_api.config import parse_redis_url
    from dorami_api.web.rate_limits import storage_options, storage_uri

    assert storage_uri(None) == "memory://"
    assert storage_uri(parse_redis_url("redis://r:6379/2")) == "redis://r:6379/2"
    sentinel = parse_redis_url("redis-sentinel://:pw@s1:26379,s2:26379/3/mymaster")
    assert storage_uri(sentinel) == "redis+sentinel://:pw@s1:26379,s2:26379/mymaster"
    assert storage_options(sentinel)["db"] == 3


def test_limit_settings_are_checked_at_start_up():
    import pytest

    from dorami_api.config import Config, ConfigError

    for name in ("RATELIMIT_DEFAULT", "RATELIMIT_AUTH", "LOGIN_FAILURE_LIMIT"):
        with pytest.raises(ConfigError, match=name):
            Config.from_env({"APP_ENV": "test", name: "lots please"})


def test_a_dead_redis_does_not_take_the_api_down(make_app):
    from tests.support.server import free_port

    app = make_app(RATELIMIT_ENABLED="true", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client(use_cookies=False)
    answers = [client.get("/api/v1/auth/csrf") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    # Counting goes on in memory (per process) until Redis is back.
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["19", "18", "17"]


def test_a_routes_own_retry_after_survives_the_limiter(make_app):
    from flask import Blueprint

    from dorami_api.errors import ApiError

    app = make_app(**LIMITED)
    probe = Blueprint("busy_probe", __name__)

    @probe.get("/busy")
    def busy():
        raise ApiError(503, "SERVICE_UNAVAILABLE", "Busy", headers={"Retry-After": "7"})

    app.register_blueprint(probe, url_prefix="/api/v1/probe")
    client = app.test_client(use_cookies=False)
    response = client.get("/api/v1/probe/busy")
    assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    assert "Retry-After" not in client.get("/api/v1/auth/csrf").headers


def test_every_default_window_holds_and_the_headers_count_down_the_shortest(make_app):
    client = make_app(**LIMITED, RATELIMIT_DEFAULT="100/minute;3/hour").test_client(use_cookies=False)
    _, alice = signed_in(client.application)
    answers = [client.get("/api/v1/users/me", headers=alice) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [r.headers["X-RateLimit-Limit"] for r in answers] == ["100"] * 3
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["99", "98", "97"]
    assert all(int(r.headers["X-RateLimit-Reset"]) > time.time() for r in answers)

    _assert_limited(client.get("/api/v1/users/me", headers=alice))  # the hour's 3 are used up
