"""`flask demo seed`: demo data a newcomer can look at and buy from at once, made through the
services (so stock rules hold), and idempotent — a second run makes nothing and exits 0."""

from __future__ import annotations

import sqlalchemy as sa

from dorami_api.demo import seed as seed_data
from dorami_api.extensions import db
from dorami_api.streaming import service as streams
from dorami_api.streaming.schemas import StreamCreate
from dorami_api.users import roles
from tests.support.auth import PASSWORD, auth_header, signed_in
from tests.support.sockets import Viewer

API = "/api/v1"


def _seed(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=["demo", "seed", *args], **kwargs)


def _row_counts(app) -> dict:
    with app.app_context():
        return {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }


def _live_stream(client) -> dict:
    active = client.get(f"{API}/streaming/streams/active").get_json()["data"]["items"]
    assert [s["title"] for s in active] == ["Dorami demo: spring drop"]
    return client.get(f"{API}/streaming/streams/{active[0]['id']}").get_json()["data"]


def test_seeding_twice_makes_the_same_rows_once(app):
    first = _seed(app)
    assert first.exit_code == 0, first.output
    assert 'created  stream "Dorami demo: spring drop"' in first.output
    after_first = _row_counts(app)
    second = _seed(app)
    assert second.exit_code == 0, second.output
    assert "0 made" in second.output and "created" not in second.output
    assert _row_counts(app) == after_first
    assert after_first["users"] == 4 and after_first["live_streams"] == 2


def test_the_seed_shows_a_live_stream_with_a_featured_product_and_a_scheduled_one(app):
    result = _seed(app)
    assert result.exit_code == 0, result.output
    client = app.test_client(use_cookies=False)
    live = _live_stream(client)
    assert live["status"] == "LIVE" and f"Live stream: key {live['streamKey']}" in result.output
    products = client.get(f"{API}/products", query_string={"streamKey": live["streamKey"]}).get_json()["data"]
    by_name = {p["name"]: p for p in products["items"]}
    assert live["featuredProduct"]["name"] == "Silk scarf"
    assert any(p["variants"] for p in by_name.values()) and any(not p["variants"] for p in by_name.values())
    low = [p["name"] for p in by_name.values() if 0 < p["available"] < 5]
    low_variants = [v for p in by_name.values() for v in p["variants"] if 0 < v["available"] < 5]
    assert "Last-call tote bag" in low and low_variants
    upcoming = client.get(f"{API}/streaming/streams/upcoming").get_json()["data"]["items"]
    assert [s["title"] for s in upcoming] == ["Dorami demo: summer preview"]
    assert upcoming[0]["status"] == "SCHEDULED"


def test_demo_buyers_sign_in_with_the_given_password_and_can_order_at_once(app):
    result = _seed(app, env={"DORAMI_DEMO_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    client = app.test_client(use_cookies=False)
    scarf = _live_stream(client)["featuredProduct"]
    for email in ("mina@demo.dorami.test", "jun@demo.dorami.test", "sora@demo.dorami.test"):
        assert email in result.output
        login = client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.get_json()
        headers = auth_header(login.get_json()["data"]["accessToken"])
        me = client.get(f"{API}/users/me", headers=headers).get_json()["data"]
        assert me["profileComplete"] and me["depositorName"]
        order = client.post(
            f"{API}/orders/direct", json={"items": [{"productId": scarf["id"], "quantity": 1}]}, headers=headers
        )
        assert order.status_code == 201, order.get_json()
    again = _seed(app, "--password", PASSWORD)
    assert again.exit_code == 0 and "0 made" in again.output


def test_without_a_password_the_demo_accounts_use_dev_login(make_app):
    app = make_app(ENABLE_DEV_AUTH="true")
    result = _seed(app)
    assert result.exit_code == 0 and "dev-login" in result.output
    client = app.test_client(use_cookies=False)
    refused = client.post(f"{API}/auth/login", json={"email": "mina@demo.dorami.test", "password": PASSWORD})
    assert refused.status_code == 401
    dev = client.post(f"{API}/auth/dev-login", json={"email": "mina@demo.dorami.test"}).get_json()["data"]
    assert dev["user"]["profileComplete"] and dev["user"]["role"] == "USER"


def test_a_weak_password_and_production_are_refused(make_app):
    app = make_app()
    weak = _seed(app, "--password", "short")
    assert weak.exit_code == 1 and "at least 10 characters" in weak.output
    assert _row_counts(app)["users"] == 0
    production = make_app(
        APP_ENV="production", PROFILE_ENCRYPTION_KEY="00" * 32, CORS_ORIGINS="https://shop.dorami.test"
    )
    refused = _seed(production)
    assert refused.exit_code == 1 and "refused in production" in refused.output
    assert _row_counts(app)["users"] == 0


def test_what_the_seed_makes_is_broadcast_to_viewers_of_a_running_service(app, live_server):
    """The seed runs in its own process; its changes reach the sockets of the service through
    Redis, as an admin's would. The demo stream is made first so a viewer can be in its room."""
    server = live_server()
    with app.app_context():
        host = roles.create_account(seed_data.HOST["email"], seed_data.HOST["name"], None)
        stream = streams.create_stream(str(host.id), StreamCreate.model_validate(seed_data.LIVE_STREAM))
    viewer = Viewer(server.url, token=signed_in(app).token, namespaces=["/"])
    try:
        assert viewer.call("join:stream", {"streamId": stream["streamKey"]}, "/")["success"]
        result = _seed(app)
        assert result.exit_code == 0, result.output
        assert 'kept  stream "Dorami demo: spring drop"' in result.output
        for count in range(1, len(seed_data.LIVE_PRODUCTS) + 1):
            viewer.wait_for("live:product:added", "/", count=count)
        added = {event["data"]["name"] for event in viewer.received("live:product:added", "/")}
        assert added == {spec["name"] for spec in seed_data.LIVE_PRODUCTS}
        featured = viewer.wait_for("stream:featured-product:updated", "/")["data"]
        assert featured["streamKey"] == stream["streamKey"] and featured["product"]["name"] == "Silk scarf"
    finally:
        viewer.close()
