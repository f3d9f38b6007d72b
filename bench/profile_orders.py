"""In-process cProfile of sold-out direct orders: what one refused flash-sale buyer costs, by frame.

One app on real PostgreSQL and Redis (a scratch database and a free Redis index, dropped after),
the rate limiter on, a product with no stock, N buyers with complete profiles, each sending one
`POST /orders/direct` through Flask's test client (no network, no gunicorn: the request's own
CPU). `--warm` first asks `GET /auth/me` for every buyer, so their tokens are verified and their
sessions remembered, as a buyer whose socket has connected; without it every order is a buyer's
first request.

    .venv/bin/python bench/profile_orders.py [--buyers 1500] [--warm] [--top 40] [--out FILE.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402

from dorami_api import create_app  # noqa: E402
from dorami_api.config import Config  # noqa: E402
from dorami_api.extensions import db  # noqa: E402
from tests.support import services  # noqa: E402
from tests.support.auth import signed_in  # noqa: E402
from tests.support.commerce import make_product  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=1500)
    parser.add_argument("--warm", action="store_true", help="sessions remembered, tokens verified first")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    database, redis_url = services.create_database(), services.claim_redis_database()
    env = {
        "APP_ENV": "test",
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "JWT_SECRET": "bench-profile-secret-" + "x" * 32,
        "LOG_LEVEL": "WARNING",
        "RATELIMIT_ENABLED": "true",
        "ACCESS_LOG_FILE": os.devnull,  # written and formatted as in production, not printed
    }
    app = create_app(Config.from_env(env))
    try:
        with app.app_context():
            upgrade()
        product = make_product(app, stock=0)
        buyers = [signed_in(app, profile=True) for _ in range(args.buyers)]
        client = app.test_client()
        if args.warm:
            for buyer in buyers:
                client.get("/api/v1/auth/me", headers=buyer.headers)
        body = {"items": [{"productId": str(product), "quantity": 1}]}
        answers: dict[int, int] = {}
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for buyer in buyers:
            status = client.post("/api/v1/orders/direct", json=body, headers=buyer.headers).status_code
            answers[status] = answers.get(status, 0) + 1
        profile.disable()
        elapsed = time.perf_counter() - started
        print(f"answers {answers}; {1000 * elapsed / len(buyers):.2f} ms per order under the profiler")
        if args.out:
            profile.dump_stats(args.out)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    finally:
        with app.app_context():
            db.engine.dispose()
        services.drop_database(database)
        services.release_redis_database(redis_url)


if __name__ == "__main__":
    main()
