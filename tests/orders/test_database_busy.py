"""A saturated database is a 503 with Retry-After, never a 500 (503: a dependency is down)."""

from __future__ import annotations

from dorami_api import create_app
from dorami_api.config import Config
from dorami_api.extensions import db
from tests.support.auth import signed_in
from tests.support.commerce import make_product


def test_no_free_connection_answers_503_with_retry_after(app_env, clean_state):
    app = create_app(
        Config.from_env(app_env),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.5},
    )
    product_id = make_product(app, stock=5)
    _, alice = signed_in(app, profile=True)
    with app.app_context():
        db.engine.dispose()
        with db.engine.connect():  # someone else holds the only connection
            response = app.test_client().post(
                "/api/v1/orders/direct",
                json={"items": [{"productId": str(product_id), "quantity": 1}]},
                headers=alice,
            )
        assert response.status_code == 503
        assert response.get_json()["errorCode"] == "SERVICE_UNAVAILABLE"
        assert response.headers["Retry-After"] == "1"
        # The pool recovered: the same request now succeeds.
        again = app.test_client().post(
            "/api/v1/orders/direct",
            json={"items": [{"productId": str(product_id), "quantity": 1}]},
            headers=alice,
        )
        assert again.status_code == 201
        db.engine.dispose()
