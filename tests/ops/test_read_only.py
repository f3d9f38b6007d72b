"""Public read-only routes read outside a transaction (db/read_only.py); the connection they
used must come back to the pool as it was, so the next request's writes are still atomic."""

from __future__ import annotations

import sqlalchemy as sa

from dorami_api.extensions import db
from tests.products.helpers import Actors


def test_a_status_read_leaves_the_connection_transactional(make_app):
    app = make_app(DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0")  # every request on the same connection
    actors = Actors(app)
    stream = actors.start(actors.create_stream(title="On air"))

    response = actors.client.get(f"/api/v1/streaming/streams/key/{stream['streamKey']}/status")
    assert response.status_code == 200
    assert response.get_json()["data"]["isLive"] is True
    assert actors.client.get("/api/v1/streaming/streams/key/nokey123456/status").status_code == 404

    with app.app_context():
        db.session.execute(sa.text("CREATE TABLE rollback_probe (id int)"))
        db.session.rollback()
        assert db.session.scalar(sa.text("SELECT to_regclass('rollback_probe')")) is None


def test_a_public_list_read_leaves_the_connection_transactional(make_app):
    app = make_app(DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0")
    actors = Actors(app)
    stream = actors.start(actors.create_stream(title="On air"))
    actors.create_product(streamId=stream["id"], name="Scarf")
    response = actors.client.get(f"/api/v1/products?streamId={stream['id']}&limit=7")
    assert [item["name"] for item in response.get_json()["data"]["items"]] == ["Scarf"]

    with app.app_context():
        db.session.execute(sa.text("CREATE TABLE rollback_probe (id int)"))
        db.session.rollback()
        assert db.session.scalar(sa.text("SELECT to_regclass('rollback_probe')")) is None


def test_a_request_reading_its_session_outside_a_transaction_writes_atomically_after(make_app):
    """The token check reads the auth session outside a transaction; what the request does next
    must run in one again (here: a statement rolled back leaves nothing)."""
    from dorami_api.auth.guards import login_required

    app = make_app(DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0")

    @app.post("/probe-after-authentication")
    @login_required
    def probe():
        db.session.execute(sa.text("CREATE TABLE rollback_probe (id int)"))
        db.session.rollback()
        return {"left": db.session.scalar(sa.text("SELECT to_regclass('rollback_probe')::text"))}

    actors = Actors(app)
    response = actors.client.post("/probe-after-authentication", headers=actors.admin)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"left": None}
