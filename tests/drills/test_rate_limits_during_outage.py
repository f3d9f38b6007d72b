"""HTTP rate limits while Redis, which counts them for every worker, is down.

A read is still served and still limited, counted by the worker alone meanwhile; a login cannot be
counted across workers, so it is refused with 503 rather than let through per worker (password
guessing would get workers × the budget). When Redis is back, limits are counted there again at
once — no half-minute of per-worker counting after the recovery.
"""

from __future__ import annotations

from tests.drills.helpers import assert_unavailable
from tests.support.outages import wait_until

LOGIN = {"email": "nobody@dorami.test", "password": "not the password"}


def test_reads_stay_limited_and_logins_wait_for_redis(make_app, own_redis):
    app = make_app(
        REDIS_URL=own_redis.url, RATELIMIT_ENABLED="true", RATELIMIT_DEFAULT="3/minute", RATELIMIT_AUTH="2/minute"
    )
    client = app.test_client(use_cookies=False)
    assert [client.get("/api/v1/config/public").status_code for _ in range(4)] == [200, 200, 200, 429]

    own_redis.kill()
    # Counted in this worker's memory from zero: served, and limited again after three.
    assert [client.get("/api/v1/config/public").status_code for _ in range(4)] == [200, 200, 200, 429]
    for _ in range(3):
        assert_unavailable(client.post("/api/v1/auth/login", json=LOGIN))

    own_redis.start()  # empty: the counts of before the outage are gone with it
    first = wait_until(lambda: _not_unavailable(client.post("/api/v1/auth/login", json=LOGIN)), 10, "logins back")
    assert first.status_code == 401
    assert client.post("/api/v1/auth/login", json=LOGIN).status_code == 401
    assert client.post("/api/v1/auth/login", json=LOGIN).status_code == 429  # counted in Redis again
    # Reads are counted in Redis again too (a fresh count there, not this worker's exhausted one).
    assert client.get("/api/v1/config/public").status_code == 200
    assert any("dorami-rl" in key for key in own_redis.client().keys("*"))


def _not_unavailable(response):
    return response if response.status_code != 503 else None
