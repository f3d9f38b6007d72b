"""A pooled database connection that died while idle (database restart, failover, a proxy
closing quiet sockets) is replaced before a request uses it: the user never sees the failure."""

from __future__ import annotations

import sqlalchemy as sa

from dorami_api.db import connection_check
from dorami_api.extensions import db
from tests.support import services


def _kill_connections_of(app, state: str = "idle") -> int:
    """Terminate the app's connections in this pg_stat_activity state; how many there were."""
    with app.app_context():
        name = db.engine.url.database
    with services._admin_connection() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = 'dorami-api' AND state = %s",
            (name, state),
        )
        return cursor.fetchone()[0]


def test_a_connection_killed_while_idle_is_replaced_before_use(app, client, monkeypatch):
    assert client.get("/api/v1/streaming/streams/active").status_code == 200
    assert _kill_connections_of(app) >= 1
    monkeypatch.setattr(connection_check, "IDLE_PING_SECONDS", 0.0)  # any idle time counts

    response = client.get("/api/v1/streaming/streams/active")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["success"] is True


def test_a_connection_in_steady_use_is_not_pinged(app, client):
    statements = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert client.get("/api/v1/streaming/streams/active").status_code == 200
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", count)
    assert statements and not [s for s in statements if s.strip().upper() == "SELECT 1"]


def test_a_connection_that_dies_before_the_end_of_a_request_does_not_turn_its_answer_into_a_500(app, client):
    # The request has built its answer and still holds a transaction open (what a response
    # serializer's lazy load leaves) when PostgreSQL drops the connection; the end of the request
    # rolls back, on a dead connection.
    with app.test_request_context("/api/v1/health/live"):
        db.session.execute(sa.text("SELECT 1"))
        assert _kill_connections_of(app, "idle in transaction") == 1
        # Leaving the context runs the teardown: it used to raise OperationalError (a bare 500).
    response = client.get("/api/v1/streaming/streams/active")
    assert response.status_code == 200, response.get_json()
